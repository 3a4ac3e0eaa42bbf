"""``thongsuot agent create|token|revoke|list``: enrol agents, rotate and revoke tokens."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from app.agents import service
from app.config import Settings

SettingsFn = Callable[[argparse.Namespace], Settings]


def add_enrolment_commands(
    group: Any, add_common: Callable[[argparse.ArgumentParser], None], settings: SettingsFn
) -> None:
    """Add the enrolment commands to the ``agent`` group of ``thongsuot``."""

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help_)
        p.set_defaults(fn=lambda args: run_command(args, settings(args)))
        add_common(p)
        return p

    p = command("create", "first token of an agent declared in the inventory (shown once)")
    p.add_argument("name", help="the agent's name (agents: in the inventory)")
    p = command("token", "another token for an agent (rotation; at most two active)")
    p.add_argument("name")
    p = command("revoke", "revoke an agent's tokens (all, or one by --token-prefix/--token-id)")
    p.add_argument("name")
    p.add_argument("--token-prefix", metavar="P", help="the token's shown prefix (tsa_…)")
    p.add_argument("--token-id", type=int, metavar="ID")
    command("list", "agents: units, state, last seen, clock offset, tokens")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.errors import AppError, ConfigError

    try:
        return asyncio.run(_run(args, settings))
    except AppError as exc:
        print(f"lỗi / error: {exc.message}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print("\n".join(exc.errors), file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        print(
            "thongsuot: cơ sở dữ liệu chưa sẵn sàng (chạy: thongsuot db upgrade) / "
            f"database not ready: {type(exc.orig).__name__}",
            file=sys.stderr,
        )
        return 2


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            action = args.agent_command
            if action in ("create", "token"):
                issued = await service.issue_token(
                    session, args.name, settings.inventory, first=action == "create"
                )
                _print_issued(issued)
            elif action == "revoke":
                revoked = await service.revoke_tokens(
                    session, args.name, token_id=args.token_id, prefix=args.token_prefix
                )
                for token in revoked:
                    print(f"đã thu hồi / revoked: {args.name} #{token.id} {token.prefix}…")
            else:
                print(format_agents(await service.list_agents(session)))
    finally:
        await engine.dispose()
    return 0


def _print_issued(issued: service.IssuedToken) -> None:
    # the token alone on stdout (for scripts), the words on stderr
    print(
        f"Mã mới của agent {issued.agent!r} (#{issued.token_id}) — chỉ hiển thị một lần, "
        "hãy lưu vào token_file của agent / new agent token, shown only once:",
        file=sys.stderr,
    )
    print(issued.token, flush=True)


def format_agents(rows: list[tuple[Any, list[Any]]]) -> str:
    """One line per agent: name, units, state, last seen, clock offset, active tokens."""
    if not rows:
        return "Chưa có agent nào / no agents"
    lines = [
        "TÊN/NAME  ĐƠN VỊ/UNITS  TRẠNG THÁI/STATE  LẦN CUỐI/LAST SEEN  LỆCH GIỜ/OFFSET  MÃ/TOKENS"
    ]
    for agent, tokens in rows:
        seen = agent.last_seen_at.isoformat(timespec="seconds") if agent.last_seen_at else "-"
        offset = f"{agent.clock_offset_s:+.1f}s" if agent.clock_offset_s is not None else "-"
        active = [t.prefix + "…" for t in tokens if t.revoked_at is None]
        state = "disabled" if agent.disabled_at is not None else agent.state
        lines.append(
            f"{agent.name}  {','.join(agent.units)}  {state}  {seen}  {offset}  "
            f"{' '.join(active) or '-'}"
        )
    return "\n".join(lines)
