"""Notification transports and message rendering.

The public surface: :class:`Notification`, :func:`render`, :class:`Channel`,
:class:`DeliveryOutcome`, the ``ChannelConfig`` union and :func:`build_channel`.
Incident routing, escalation and the outbox sit above this package and call it.
"""

from app.alerts.base import (
    Channel,
    DeliveryOutcome,
    Event,
    Lang,
    Notification,
    RenderedMessage,
)
from app.alerts.render import render
from app.alerts.schemas import ChannelConfig, SmtpConfig, parse_channel_config

__all__ = [
    "Channel",
    "ChannelConfig",
    "DeliveryOutcome",
    "Event",
    "Lang",
    "Notification",
    "RenderedMessage",
    "SmtpConfig",
    "parse_channel_config",
    "render",
]
