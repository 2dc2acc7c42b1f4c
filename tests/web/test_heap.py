"""The serving process's startup heap is left out of the collector's full passes."""

from __future__ import annotations

import gc

from litestar import Litestar

from web.heap import settle_heap


async def test_settle_heap_freezes_what_startup_left() -> None:
    app = Litestar(route_handlers=[])
    assert gc.get_freeze_count() == 0
    try:
        await settle_heap(app)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
