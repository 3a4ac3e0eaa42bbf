"""Secrets by name: the one place ``NAME`` / ``NAME_FILE`` is read (issue 9.3).

A secret is named, never written down: ``env_secret("PORTAL_TOKEN")`` returns the
content of the file named by ``PORTAL_TOKEN_FILE`` (surrounding whitespace
stripped, so a trailing newline does not count) or else the value of
``PORTAL_TOKEN`` (as it is). When both are set the file wins: it is the
deliberate, more specific form (a mounted Docker or Kubernetes secret over a
default left in the environment). App settings use the same rule through
``app.config`` (``THONGSUOT_X_FILE``).

Every failure is a ``SecretError`` (a ``LookupError``) whose message names the
variable and never shows a value; a file that cannot be read is also an
``OSError``, so callers that catch either keep working.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

__all__ = [
    "SecretError",
    "SecretFileError",
    "SecretNotSet",
    "SecretResolver",
    "SecretUnavailable",
    "env_secret",
    "lookup_secret",
    "read_secret",
]

SecretResolver = Callable[[str], str]
"""Resolves a secret's name to its value (raises ``LookupError`` / ``OSError``)."""


class SecretError(LookupError):
    """A named secret could not be read; the message names it, never its value."""


class SecretNotSet(SecretError):
    """Neither ``NAME`` nor ``NAME_FILE`` is set."""


class SecretFileError(SecretError, OSError):
    """``NAME_FILE`` is set but the file cannot be read as UTF-8 text."""


def lookup_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of secret ``name``, or ``None`` when neither ``NAME`` nor ``NAME_FILE`` is set.

    ``NAME_FILE`` wins over ``NAME``; the file's content is stripped of surrounding
    whitespace. Raises ``SecretFileError`` when the file cannot be read.
    """
    env = os.environ if environ is None else environ
    file_var = f"{name}_FILE"
    if (path := env.get(file_var)) is not None:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, UnicodeDecodeError):
                reason = "not UTF-8 text"
            raise SecretFileError(f"{file_var}={path!r} cannot be read: {reason}") from None
    return env.get(name)


def env_secret(name: str) -> str:
    """Resolve a secret from the file named by ``NAME_FILE``, else from ``NAME``.

    The default ``SecretResolver``. Raises ``SecretNotSet`` when neither is set and
    ``SecretFileError`` when the file cannot be read. An empty value is returned as
    it is (``read_secret`` refuses it).
    """
    value = lookup_secret(name)
    if value is None:
        raise SecretNotSet(f"secret {name!r} is not set (nor {name}_FILE)")
    return value


class SecretUnavailable(SecretError):
    """A secret named in a probe's config could not be read."""


def read_secret(resolver: SecretResolver, name: str) -> str:
    """Resolve ``name`` through ``resolver``; any failure becomes ``SecretUnavailable``.

    The message names the secret, never its value.
    """
    try:
        value = resolver(name)
    except (LookupError, OSError) as exc:
        raise SecretUnavailable(f"secret {name!r} is unavailable: {exc}") from None
    if not value:
        raise SecretUnavailable(f"secret {name!r} is empty")
    return value
