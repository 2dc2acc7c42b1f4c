"""``votes serve``: run the web service (uvicorn) on the configured or embedded database.

In the embedded default (no VOTES_DATABASE_URL: SQLite in the data folder) the
database is migrated on start, so README's one command works on a fresh
checkout, and a demo estate with an open meeting is created when the
database is empty; its URLs, accounts and a few credentials are printed.
On any configured database the schema must already be current: the command
refuses to start and names ``votes db upgrade`` otherwise.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

import click

from votes.settings import Settings, SettingsError

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ["prepare_database", "serve"]


def _settings(host: str | None, port: int | None) -> Settings:
    environ = dict(os.environ)
    if host is not None:
        environ["VOTES_HOST"] = host
    if port is not None:
        environ["VOTES_PORT"] = str(port)
    try:
        return Settings.from_env(environ)
    except SettingsError as exc:
        raise click.ClickException(f"配置错误 configuration error: {exc}") from exc


def is_embedded_default(settings: Settings) -> bool:
    """True when the database is the embedded default SQLite file (nothing configured)."""
    return settings.database_url == f"sqlite+aiosqlite:///{settings.data_dir / 'votes.db'}"


async def prepare_database(settings: Settings) -> str:
    """Migrate the embedded default; on any other database only check it is current.

    Returns a line describing what was done; raises ``SchemaNotCurrentError``
    (its message names ``votes db upgrade``) for an un-migrated configured database.
    """
    from votes.storage import create_engine, display_url, ensure_migrated, upgrade  # noqa: PLC0415

    engine = create_engine(settings)
    try:
        if is_embedded_default(settings):
            await upgrade(engine)
            return f"数据库已就绪 database ready (migrated): {display_url(engine.url)}"
        await ensure_migrated(engine)
        return f"数据库 database: {display_url(engine.url)}"
    finally:
        await engine.dispose()


def _announce(settings: Settings) -> Any:
    """An app startup hook printing the URLs and, on first start, the demo accounts."""

    async def announce(app: Litestar) -> None:
        base = str(settings.base_url)
        lines = [
            "",
            f"业主决策电子投票 Owner Vote — {base}",
            f"  接口文档 API (OpenAPI): {base}/schema",
        ]
        info = app.state.get("demo")
        if info is not None:
            lines += [
                f"  示范会议 demo meeting {info.meeting_code}:",
                f"    公示栏 bulletin:   {base}/bulletin/{info.meeting_code}",
                f"    投票页 ballot page: {info.ballot_url}",
                "  工作人员账号 staff accounts (shown once 仅显示一次):",
            ]
            lines += [
                f"    {a.role.value:9} {a.username:10} 密码 password: {a.password}"
                for a in info.accounts
            ]
            lines.append("  示范凭证 demo credentials (open on a phone 用手机打开):")
            for letter in info.letters:
                lines.append(f"    {' '.join(letter.units)}: {letter.display}")
                lines.append(f"      {letter.url}")
            lines.append(
                f"  示范街道办私钥 demo officer key (demo only!): {info.officer_private_key}"
            )
        elif settings.demo:
            lines.append(
                "  (示范数据已存在 demo data exists; its credentials were printed at first start)"
            )
        click.echo("\n".join(lines) + "\n")

    return announce


@click.command()
@click.option("--host", default=None, help="监听地址 Address to listen on (VOTES_HOST).")
@click.option("--port", type=int, default=None, help="端口 Port (VOTES_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """启动服务 Run the web service (embedded SQLite + demo when nothing is configured)."""
    import uvicorn  # noqa: PLC0415

    from votes.storage import SchemaNotCurrentError  # noqa: PLC0415
    from web.app import create_app  # noqa: PLC0415
    from web.heap import settle_heap  # noqa: PLC0415

    settings = _settings(host, port)
    try:
        click.echo(asyncio.run(prepare_database(settings)))
    except SchemaNotCurrentError as exc:
        raise click.ClickException(f"数据库未迁移 database not migrated: {exc}") from exc
    except OSError as exc:
        raise click.ClickException(f"无法连接数据库 cannot reach the database: {exc}") from exc
    app = create_app(settings)
    app.on_startup.append(_announce(settings))
    app.on_startup.append(settle_heap)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        # One log line per request costs more than a ballot's signature check; errors are
        # still logged by the app (web.errors), and a fronting proxy keeps access logs.
        access_log=False,
    )
