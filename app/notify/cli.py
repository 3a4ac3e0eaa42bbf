"""``thongsuot notify-test``: a test message through the stored policy's channels."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import get_args

import httpx

from app.config import Settings
from app.notify.policy import Role
from app.notify.service import smtp_from_settings
from app.notify.testsend import (
    DeliveryReport,
    NotifyTestError,
    format_delivery,
    format_summary,
    resolve_target,
    send_test,
    stored_policy,
)
from app.vocab.lang import Lang


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--channel", metavar="NAME", help="one named channel of the policy")
    p.add_argument("--contact", metavar="ROLE", choices=get_args(Role), help="contact role")
    p.add_argument("--unit", metavar="CODE", help="the unit whose contacts (with --contact)")
    p.add_argument("--lang", choices=["vi", "en"], help="default: the policy's lang")
    p.add_argument("--db", dest="database_url", help="database URL (THONGSUOT_DATABASE_URL)")


async def run(
    settings: Settings,
    *,
    channel: str | None = None,
    role: Role | None = None,
    unit_code: str | None = None,
    lang: Lang | None = None,
) -> tuple[list[DeliveryReport], Lang]:
    """Resolve the recipients from the stored policy and send; raises NotifyTestError."""
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            policy = await stored_policy(session)
            target = await resolve_target(
                session, policy, channel=channel, role=role, unit_code=unit_code
            )
    finally:
        await engine.dispose()
    chosen: Lang = lang or policy.lang
    async with httpx.AsyncClient(trust_env=False) as client:
        found = await send_test(target, chosen, client, smtp=smtp_from_settings(settings))
    return found, chosen


def cmd_notify_test(args: argparse.Namespace, settings: Settings) -> int:
    """Print each outcome; 0 only if every recipient got it, 1 if not, 2 if it cannot run."""
    try:
        found, lang = asyncio.run(
            run(
                settings,
                channel=args.channel,
                role=args.contact,
                unit_code=args.unit,
                lang=args.lang,
            )
        )
    except NotifyTestError as exc:
        print(f"lỗi / error: {exc.message}", file=sys.stderr)
        return 2
    for delivery in found:
        print(format_delivery(delivery, lang))
    print(format_summary(found, lang))
    return 0 if all(d.outcome.ok for d in found) else 1
