"""The Litestar application factory.

``create_app(settings)`` wires the service (votes.service) to HTTP: the JSON
API under ``/api/v1`` (OpenAPI at ``/schema``), the owner's ballot page at
``/b/{code}``, the public bulletin at ``/bulletin/{code}``, server-side staff
sessions with CSRF protection, rate limits, and live turnout over channels.

On startup it builds the :class:`~votes.service.context.ServiceContext`
(refusing to start on an un-migrated database with a message naming
``votes db upgrade``), seeds the demo estate when ``settings.demo`` and the
database is empty, and starts the scheduler that opens, closes and tallies
meetings at their instants.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Final

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from votes.service import demo
from votes.service.context import NullPublisher, ServiceContext, build_context
from votes.service.scheduler import Scheduler
from votes.settings import Settings
from web.auth import (
    csrf_middleware,
    provide_actor,
    provide_context,
    provide_optional_actor,
    session_config,
)
from web.body import StrictJsonRequest
from web.errors import exception_handlers
from web.live import ChannelsEventPublisher, build_channels
from web.openapi import SECURITY_SCHEMES, declare_errors_and_security
from web.ratelimit import CredentialLimiter, login_rate_limit
from web.routes.api import api_router
from web.routes.ballot import ballot_page
from web.routes.bulletin import bulletin_page
from web.stores import RATE_LIMIT_STORE, build_stores

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX: Final = "/api/v1"
WEB_DIR: Final = Path(__file__).resolve().parent
# Every JSON body is limited to settings.max_body_bytes (VOTES_MAX_BODY_BYTES), set
# app-wide below. Two routes set their own, larger limit: key registration
# (web.routes.api.credentials.REGISTER_KEYS_MAX_BODY_BYTES, a key per member) and
# the roster upload (the service's roster limit plus form overhead).

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    context: ServiceContext | None = None,
    scheduler: bool = True,
    seed_demo: bool | None = None,
) -> Litestar:
    """The application for ``settings`` (default: from the environment).

    ``context`` lets tests inject a ready service context (its own clock,
    database); the app then only replaces a null event publisher with its
    channels. ``scheduler`` and ``seed_demo`` (default ``settings.demo``)
    switch the background scheduler and the demo data off for tests.
    """
    if settings is None:
        settings = context.settings if context is not None else Settings.from_env()
    stores = build_stores(settings)
    channels = build_channels(settings)
    publisher = ChannelsEventPublisher(channels)
    limiter = CredentialLimiter(
        stores[RATE_LIMIT_STORE],
        settings.rate_limit_ballots,
        invalid_limit=settings.rate_limit_invalid_ballots,
    )
    should_seed = bool(settings.demo) if seed_demo is None else seed_demo

    async def startup(app: Litestar) -> None:
        if context is None:
            ctx = await build_context(settings, events=publisher)
            app.state.owns_context = True
        else:
            ctx = context
            if isinstance(ctx.events, NullPublisher):
                ctx = dataclasses.replace(ctx, events=publisher)
            app.state.owns_context = False
        app.state.ctx = ctx
        app.state.demo = None
        if should_seed:
            app.state.demo = await demo.seed_demo(ctx)
        if scheduler:
            runner = Scheduler(ctx, settings.scheduler_interval_seconds)
            runner.start()
            app.state.scheduler = runner

    async def shutdown(app: Litestar) -> None:
        runner = app.state.get("scheduler")
        if runner is not None:
            await runner.stop()
        ctx = app.state.get("ctx")
        if isinstance(ctx, ServiceContext) and app.state.get("owns_context"):
            await ctx.close()
        for store in stores.values():
            await store.close()

    login_limit = login_rate_limit(settings.rate_limit_login)

    app = Litestar(
        route_handlers=[
            Router(API_PREFIX, route_handlers=[api_router(settings)]),
            ballot_page,
            bulletin_page,
            create_static_files_router(
                path="/static", directories=[WEB_DIR / "static"], name="static"
            ),
        ],
        on_startup=[startup],
        on_shutdown=[shutdown],
        middleware=[
            login_limit.middleware,
            session_config(settings).middleware,
            csrf_middleware(settings),  # inside the session middleware: it reads the session
        ],
        stores=dict(stores),
        plugins=[channels],
        dependencies={
            "ctx": Provide(provide_context, sync_to_thread=False),
            "actor": Provide(provide_actor),
            "maybe_actor": Provide(provide_optional_actor),
            "ballot_limiter": Provide(lambda: limiter, sync_to_thread=False, use_cache=True),
        },
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(
            title="Owner Vote API (业主决策电子投票)",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
            components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        ),
        template_config=TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine),
        request_max_body_size=settings.max_body_bytes,
        request_class=StrictJsonRequest,
        state=State({"settings": settings}),
    )
    declare_errors_and_security(app, API_PREFIX)
    return app
