"""Declared maintenance windows: one-off or recurring, scoped to a check, service,
unit or the province (docs/reports.md)."""
