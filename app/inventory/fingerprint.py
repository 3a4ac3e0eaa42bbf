"""What a reload must notice: the file's bytes and the push-token secrets it names.

A reload whose fingerprint equals the last synced one changes nothing, so the
monitor answers it without parsing 17,000 checks or touching the database.
Secrets are part of the fingerprint because a heartbeat's ``token_secret`` may
be a ``NAME_FILE`` whose content is rotated without editing the inventory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from app.inventory.flat import FlatInventory
from probes.secrets import SecretError, env_secret


def secret_names(flat: FlatInventory) -> tuple[str, ...]:
    """The ``token_secret`` names of the inventory's heartbeat checks, sorted."""
    names = {
        str(spec.config["token_secret"])
        for spec in flat.checks
        if spec.kind == "heartbeat" and spec.config.get("token_secret")
    }
    return tuple(sorted(names))


def fingerprint(data: bytes, names: Sequence[str]) -> str:
    """sha256 over the file's bytes and each named secret's (hashed) value."""
    digest = hashlib.sha256(data)
    for name in names:
        try:
            value = hashlib.sha256(env_secret(name).encode()).hexdigest()
        except SecretError:
            value = "-"
        digest.update(f"\n{name}={value}".encode())
    return digest.hexdigest()
