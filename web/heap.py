"""Short garbage-collector pauses in a serving process.

CPython's cyclic collector now and then makes a full pass over every tracked
object; in a server process most of them are the application itself (the
framework, SQLAlchemy's metadata, compiled statements, templates), created at
startup and never garbage. Measured on the ballot benchmark, those full passes
stopped an app process for up to 140–170 ms each — every request in flight
waited. :func:`settle_heap`, run once the app has started, collects what
startup left behind and moves the survivors to the permanent generation
(``gc.freeze``), which the collector no longer scans. Objects made later are
collected as usual.
"""

from __future__ import annotations

import gc

from litestar import Litestar

__all__ = ["settle_heap"]


async def settle_heap(app: Litestar) -> None:
    """Startup hook for a serving process (not for tests: it never unfreezes)."""
    gc.collect()
    gc.freeze()
