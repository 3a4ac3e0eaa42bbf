"""Long-lived objects probes reuse between runs, owned by whoever builds the contexts.

docs/design.md §2: a probe's world is injected, never global. The freshness probe's
SQL engines and the dns probe's resolvers are worth keeping between runs, so
they live here, handed to every run through ``ProbeContext.resources``; the
owner (the app's monitor, ``thongsuot probe``, a test) closes the whole lot with
``await resources.aclose()``. A context without resources makes probes build
what they need for that one run and close it before returning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

__all__ = ["Closer", "ProbeResources", "ResourcesClosed"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Closer = Callable[[Any], Awaitable[None]]


class ResourcesClosed(RuntimeError):
    """A probe asked for a resource after its owner closed them."""


class ProbeResources:
    """Objects kept per (namespace, key), each with the coroutine that closes it."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, Hashable], tuple[Any, Closer | None]] = {}
        self._closed = False

    def get(
        self,
        namespace: str,
        key: Hashable,
        factory: Callable[[], T],
        close: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """The object kept under ``(namespace, key)``, made by ``factory`` the first time.

        ``close`` is awaited by ``aclose``. Synchronous, so two runs on one event loop
        never build the same object twice.
        """
        if self._closed:
            raise ResourcesClosed(f"probe resources are closed (asked for {namespace})")
        slot = (namespace, key)
        if (found := self._items.get(slot)) is not None:
            return cast(T, found[0])
        value = factory()
        self._items[slot] = (value, cast(Closer | None, close))
        return value

    def count(self, namespace: str | None = None) -> int:
        """How many objects are kept (in ``namespace``, or in all)."""
        return sum(1 for ns, _ in self._items if namespace is None or ns == namespace)

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Close every kept object (each within ``timeout_s``); later ``get`` calls raise."""
        self._closed = True
        items = list(self._items.values())
        self._items.clear()
        for value, close in items:
            if close is None:
                continue
            try:
                await asyncio.wait_for(close(value), timeout_s)
            except Exception:  # one stuck engine must not keep the others open
                log.exception("closing probe resource %r failed", type(value).__name__)

    async def __aenter__(self) -> ProbeResources:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
