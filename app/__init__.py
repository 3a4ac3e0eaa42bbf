"""thongsuot: the service-continuity monitor for TTHC services."""

__version__ = "0.1.0"
