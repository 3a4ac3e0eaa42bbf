"""Outage notifications: incident lifecycle, routing, escalation, outbox, storm control.

The public surface: :class:`Notifier` (owned by the :class:`app.monitor.runtime.Monitor`),
:class:`ConnectivityGuard`, the policy models and the signed acknowledgement links.
Transports and message rendering live in :mod:`app.alerts`.
"""
