"""The inventory as code: YAML → validated model → synced into SQL (docs/inventory.md)."""
