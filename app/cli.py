"""``thongsuot``: the process roles and operator commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.vocab.lang import Lang
from app.vocab.states import state_word
from app.vocab.words import error_kind_words

if TYPE_CHECKING:
    from app.inventory.flat import FlatInventory
    from app.inventory.loader import Parsed
    from probes.base import ProbeResult


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("database_url", "inventory", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", dest="database_url", help="database URL (THONGSUOT_DATABASE_URL)")
    p.add_argument("--inventory", type=Path, help="inventory YAML (THONGSUOT_INVENTORY)")


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    import uvicorn

    from app import migrate
    from app.main import create_app
    from app.monitor.workers import (
        SingleReplicaError,
        Supervisor,
        WorkerPortsBusy,
        check_worker_ports,
        hold_sqlite_lock,
        worker_count,
    )

    settings = _settings(args)
    _logging(settings.log_level)
    # parsed once: the worker count needs its push checks, and the monitor's first
    # sync takes it instead of parsing the same bytes again (~36 CPU-s at 17,000 checks)
    parsed: Parsed | None = None
    push: int | None = None  # unknown without an inventory file
    agents: int | None = None
    if settings.inventory is not None:
        if (parsed := _parse_inventory(settings.inventory)) is None:
            return 2
        push, agents = _push_checks(parsed.flat), _agent_checks(parsed.flat)
    try:  # SQLite: one monitor process; the lock is held until this process ends
        workers = worker_count(settings, args.workers, push_checks=push, agent_checks=agents)
        lock = hold_sqlite_lock(settings) if settings.role != "api" else None
        if workers > 1 and settings.role == "all":
            check_worker_ports(settings, workers)
    except (SingleReplicaError, WorkerPortsBusy) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.no_migrate:
        migrate.upgrade(settings.database_url)
    app = create_app(settings, inventory=parsed)
    del parsed  # the monitor drops it once synced; this frame lives as long as the server
    supervisor = Supervisor(settings, workers) if workers > 1 and settings.role == "all" else None
    if supervisor is not None:
        supervisor.start()
        # uvicorn raises SIGTERM/SIGINT again once it has stopped; caught here, so the
        # workers are stopped (and their results written) before this process exits
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            loop=settings.event_loop,
        )
    finally:
        if supervisor is not None:
            supervisor.stop()
    del lock
    return 0


def _parse_inventory(path: Path) -> Parsed | None:
    """The inventory file parsed; ``None`` after refusing a bad inventory, naming
    file, line and field (no traceback)."""
    from app.errors import ConfigError
    from app.inventory.loader import load_parsed

    try:
        return load_parsed(path)
    except ConfigError as exc:
        print(f"thongsuot: kiểm kê không hợp lệ / invalid inventory: {path}", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return None


def _push_checks(flat: FlatInventory) -> int:
    """The inventory's enabled push (heartbeat) checks."""
    return sum(1 for check in flat.checks if check.kind == "heartbeat" and check.enabled)


def _agent_checks(flat: FlatInventory) -> int:
    """The enabled liveness checks of remote agents (``agent.<name>``): their
    results and beats reach only the API process, so they keep one process."""
    return sum(1 for check in flat.checks if check.key.startswith("agent.") and check.enabled)


def cmd_db(args: argparse.Namespace) -> int:
    from app import migrate

    settings = _settings(args)
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url, args.revision or "head")
    else:
        migrate.downgrade(settings.database_url, args.revision or "-1")
    print(f"database {args.action}d: {_redact(settings.database_url)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_check_config(args: argparse.Namespace) -> int:
    from app.inventory.check_config import check_config

    return check_config(args.file, sys.stdout)


def probe_text(result: ProbeResult, lang: Lang) -> str:
    """``thongsuot probe``'s lines in the words of app.vocab (Vietnamese by default)."""
    from probes.cli import format_result

    return format_result(
        result,
        status_words=lambda status: state_word(status.value, lang).upper(),
        kind_words=lambda kind: error_kind_words(kind.value, lang),
    )


def cmd_probe(args: argparse.Namespace) -> int:
    from probes.cli import run_once

    options = dict(_split_option(o) for o in args.option or [])
    try:
        result = asyncio.run(
            run_once(
                args.kind,
                args.target,
                options,
                args.timeout,
                extra_ca_file=Settings().extra_ca_file,
            )
        )
    except (KeyError, ValueError) as exc:
        print(f"lỗi cấu hình / configuration error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "status": result.status.value,
                    "latency": result.latency,
                    "error_kind": result.error_kind,
                    "message": result.message,
                    "details": result.details,
                },
                ensure_ascii=False,
                default=str,
            )
        )
    else:
        print(probe_text(result, args.lang))
    return 0 if result.success else 1


def _split_option(option: str) -> tuple[str, str]:
    key, sep, value = option.partition("=")
    if not sep:
        raise SystemExit(f"--option expects key=value, got {option!r}")
    return key.strip(), value


def cmd_demo(args: argparse.Namespace) -> int:
    from app import migrate
    from app.demo.run import run_demo

    overrides: dict[str, Any] = {"port": args.port, "host": "127.0.0.1"}
    overrides["database_url"] = args.database_url or "sqlite+aiosqlite:///./thongsuot-demo.db"
    settings = Settings(**overrides)
    _logging(settings.log_level)
    migrate.upgrade(settings.database_url)
    try:
        asyncio.run(run_demo(settings, units=args.units, duration=args.duration))
    except KeyboardInterrupt:  # Ctrl-C, as the banner says: stop without a traceback
        print(goodbye(settings.lang), file=sys.stderr)
    return 0


def goodbye(lang: str) -> str:
    """The one line ``thongsuot demo`` ends with on Ctrl-C."""
    if lang == "en":
        return "thongsuot demo stopped. Goodbye."
    return "Đã dừng bản chạy thử thongsuot. Tạm biệt."


def cmd_token(args: argparse.Namespace) -> int:
    from app.auth.service import create_token, revoke
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError

    async def run() -> str:
        engine = make_engine(_settings(args).database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                if args.action == "create":
                    return await create_token(session, args.name, scope=args.scope)
                await revoke(session, args.name)
                return f"revoked: {args.name}"
        finally:
            await engine.dispose()

    from sqlalchemy.exc import OperationalError, ProgrammingError

    settings = _settings(args)
    try:
        result = asyncio.run(run())
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:  # no tables: never migrated
        where = _redact(settings.database_url)
        print(
            f"thongsuot: cơ sở dữ liệu {where} chưa sẵn sàng (chạy: thongsuot db upgrade "
            f"--db {where}) / database not ready: {type(exc.orig).__name__}",
            file=sys.stderr,
        )
        return 2
    if args.action != "create":
        print(result)
        return 0
    # the token alone on stdout (for scripts); what it is, and that it is shown once, on
    # stderr, so both are visible in a terminal
    print(
        f"Mã truy cập mới {args.name!r} (quyền {args.scope}) trong {_redact(settings.database_url)}"
        " — chỉ hiển thị một lần, hãy lưu lại / new API token, shown only once:",
        file=sys.stderr,
    )
    print(result, flush=True)
    print(f"Dùng / use: Authorization: Bearer {result}", file=sys.stderr)
    return 0


def cmd_push_token(args: argparse.Namespace) -> int:
    from app.db import make_engine, make_sessionmaker
    from app.errors import AppError
    from app.monitor.push_tokens import push_url, rotate_push_token

    settings = _settings(args)

    async def run() -> str:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                _, token = await rotate_push_token(session, args.check)
                return token
        finally:
            await engine.dispose()

    try:
        token = asyncio.run(run())
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(push_url(settings.public_url, token))
    print("(reload the monitor — kill -HUP or POST /api/v1/inventory/reload — to accept it)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from app.reports.cli import cmd_report as run

    return run(args, _settings(args))


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from app.monitor.dead_letters import cmd_dead_letters as run

    return run(args, _settings(args))


def cmd_contacts(args: argparse.Namespace) -> int:
    from app.inventory.contacts_cli import cmd_contacts as run

    return run(args)


def cmd_notify_test(args: argparse.Namespace) -> int:
    from app.notify.cli import cmd_notify_test as run

    return run(args, _settings(args))


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # one line per job run or request would drown what operators need to see
    for name in ("apscheduler", "httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thongsuot", description="Giám sát hoạt động thông suốt của TTHC và dịch vụ công."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _parser_serve(sub)
    _parser_demo(sub)
    _parser_check_config(sub)
    _parser_probe(sub)
    _parser_db(sub)
    _parser_token(sub)
    _parser_report(sub)
    _parser_notify_test(sub)
    _parser_contacts(sub)
    _parser_dead_letters(sub)
    _parser_agents(_parser_agent(sub))
    p = _cmd(sub, "push-token", cmd_push_token, "new push token for a heartbeat check")
    p.add_argument("check", help="check key")
    p.add_argument("--db", dest="database_url")
    return parser


Sub = Any  # argparse's private _SubParsersAction


def _cmd(sub: Sub, name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> Any:
    p = sub.add_parser(name, help=help_)
    p.set_defaults(fn=fn)
    return p


def _parser_serve(sub: Sub) -> None:
    p = _cmd(sub, "serve", cmd_serve, "run the API and the monitor")
    _add_common(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-migrate", action="store_true", help="do not run 'db upgrade' first")
    p.add_argument(
        "--workers",
        type=int,
        help="monitor processes on this host, this one included (THONGSUOT_WORKERS; "
        "default: the core count on PostgreSQL when the inventory has no push (heartbeat) "
        "checks, else 1; always 1 on SQLite)",
    )


def _parser_demo(sub: Sub) -> None:
    p = _cmd(sub, "demo", cmd_demo, "a loopback farm of simulated commune centres + the monitor")
    p.add_argument("--db", dest="database_url")
    p.add_argument("--units", type=int, default=12)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--duration", type=float, default=None, help="stop after S seconds")


def _parser_check_config(sub: Sub) -> None:
    p = _cmd(sub, "check-config", cmd_check_config, "validate an inventory file")
    p.add_argument("file", type=Path)


def _parser_probe(sub: Sub) -> None:
    p = _cmd(sub, "probe", cmd_probe, "run one probe once and print its result")
    p.add_argument("kind")
    p.add_argument("target")
    p.add_argument("--option", "-o", action="append", help="key=value (JSON values allowed)")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--lang", choices=["vi", "en"], default="vi")


def _parser_db(sub: Sub) -> None:
    p = _cmd(sub, "db", cmd_db, "database migrations")
    p.add_argument("action", choices=["upgrade", "downgrade"])
    p.add_argument("revision", nargs="?")
    p.add_argument("--db", dest="database_url")


def _parser_token(sub: Sub) -> None:
    p = _cmd(sub, "token", cmd_token, "create (printed once) or revoke an API token")
    p.add_argument("action", choices=["create", "revoke"])
    p.add_argument("name")
    p.add_argument("--scope", choices=["read", "write"], default="write")
    p.add_argument("--db", dest="database_url")


def _parser_report(sub: Sub) -> None:
    from app.reports.cli import add_arguments

    add_arguments(
        _cmd(sub, "report", cmd_report, "the monthly availability report (XLSX/PDF/CSV/JSON)")
    )


def _parser_notify_test(sub: Sub) -> None:
    from app.notify.cli import add_arguments

    add_arguments(
        _cmd(sub, "notify-test", cmd_notify_test, "send a test notification through the policy")
    )


def _parser_contacts(sub: Sub) -> None:
    from app.inventory.contacts_cli import add_arguments

    add_arguments(
        _cmd(sub, "contacts", cmd_contacts, "import (check) or export the units' contacts CSV")
    )


def _parser_dead_letters(sub: Sub) -> None:
    from app.monitor.dead_letters import add_arguments

    add_arguments(
        _cmd(sub, "dead-letters", cmd_dead_letters, "results the database refused: list, replay")
    )


def _parser_agent(sub: Sub) -> Any:
    """``thongsuot agent ...``: ``run`` is the agent process (app/agent/); the enrolment
    commands (create, token, revoke, list) are added to the returned group."""
    from app.agent.cli import add_run_arguments

    p = sub.add_parser("agent", help="remote probe agents: run one, or enrol them")
    group = p.add_subparsers(dest="agent_command", required=True)
    run = group.add_parser("run", help="run the agent process (agent.toml)")
    run.set_defaults(fn=_cmd_agent_run)
    add_run_arguments(run)
    return group


def _parser_agents(group: Sub) -> None:
    from app.agents.cli import add_enrolment_commands

    add_enrolment_commands(group, _add_common, _settings)


def _cmd_agent_run(args: argparse.Namespace) -> int:
    from app.agent.cli import cmd_run

    return cmd_run(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["agent", "run"]:  # the small box: none of the server's command modules
        from app.agent.cli import main as agent_main

        return agent_main(argv[2:])
    args = build_parser().parse_args(argv)
    code: int = args.fn(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
