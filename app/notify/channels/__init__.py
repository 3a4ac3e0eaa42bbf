"""Notification transports: one module per channel behind the ``Channel`` contract (base),
their inventory configurations (config) and the factory that builds them (factory)."""
