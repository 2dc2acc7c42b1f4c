"""Run one app process for the ballot benchmark and the two-process test.

    python bench/serve_app.py votes --port 8101 [--search-path SCHEMA]
    python bench/serve_app.py bare  --port 8102 [--search-path SCHEMA]

``votes`` is the real application (web.app.create_app; settings from the
``VOTES_*`` environment variables). ``bare`` is the baseline of docs/design.md §8: a
Litestar endpoint that only verifies the ballot's Ed25519 signature and
inserts a row (bench/bare_app.py). Each process binds its port with
``SO_REUSEPORT``, so several processes started on one port share it and the
kernel spreads connections over them — like N app processes behind a proxy.
``--search-path`` points the database connections at a schema of their own.
One uvicorn worker per process (uvloop, httptools), access log off.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Any

import uvicorn
import uvloop
from litestar import Litestar

from web.heap import settle_heap


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def _votes_app(search_path: str | None, *, scheduler: bool) -> Litestar:
    from votes.service.context import build_context  # noqa: PLC0415
    from votes.settings import Settings  # noqa: PLC0415
    from votes.storage import create_engine  # noqa: PLC0415
    from web.app import create_app  # noqa: PLC0415

    settings = Settings.from_env()
    if search_path is None:
        return create_app(settings, scheduler=scheduler, seed_demo=False)
    connect_args: dict[str, Any] = {"server_settings": {"search_path": search_path}}
    engine = create_engine(settings, connect_args=connect_args)
    ctx = await build_context(settings, engine=engine)
    return create_app(settings, context=ctx, scheduler=scheduler, seed_demo=False)


async def _serve(args: argparse.Namespace) -> None:
    if args.app == "votes":
        app = await _votes_app(args.search_path, scheduler=not args.no_scheduler)
    else:
        from bench.bare_app import create_bare_app  # noqa: PLC0415

        app = create_bare_app(args.database_url, search_path=args.search_path)
    # As `votes serve` does, for both apps: the startup heap is left out of full GC passes.
    app.on_startup.append(settle_heap)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http="httptools",
        loop="none",
        backlog=2048,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[_socket(args.host, args.port)]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        print("READY", flush=True)  # the parent waits for this line from every process
    await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("app", choices=["votes", "bare"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--search-path", default=None)
    parser.add_argument("--database-url", default=None, help="bare app only")
    parser.add_argument("--no-scheduler", action="store_true")
    args = parser.parse_args()
    uvloop.run(_serve(args))


if __name__ == "__main__":
    main()
