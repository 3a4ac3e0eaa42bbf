"""``thongsuot agent run --config agent.toml``: the agent process.

Kept apart from app/cli.py's parser so that starting the agent imports only the agent,
the probes and the slot grid (app/cli.py routes ``agent run`` here before it builds its
own parser, which imports the server's command modules).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.agent.config import AgentConfigError, load_config

ERROR_PREFIX = "lỗi cấu hình agent, chưa chạy / agent configuration error, not started:"


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", "-c", type=Path, required=True, help="the agent's TOML file (agent.toml)"
    )


def cmd_run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except AgentConfigError as exc:
        print(f"{ERROR_PREFIX}\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("httpx", "httpcore"):  # one line per request would drown the agent's own
        logging.getLogger(name).setLevel(logging.WARNING)
    from app.agent.runner import Agent

    agent = Agent(cfg)
    try:
        return asyncio.run(agent.run())
    except AgentConfigError as exc:  # the token file at start
        print(f"{ERROR_PREFIX}\n{exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str]) -> int:
    """``argv`` after ``agent run``."""
    p = argparse.ArgumentParser(prog="thongsuot agent run", description="the remote probe agent")
    add_run_arguments(p)
    return cmd_run(p.parse_args(argv))
