"""``votes admin``: administrative tasks run on the server (bootstrap staff accounts)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from votes.settings import Settings, SettingsError

__all__ = ["admin"]

_ROLES = ("operator", "convener", "officer")


@click.group()
def admin() -> None:
    """管理 Administration on the server (uses the VOTES_* settings)."""


def _read_password(password: str | None, password_stdin: bool) -> str:
    if password_stdin == (password is not None):
        raise click.UsageError("give exactly one of --password and --password-stdin")
    if password_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise click.UsageError("no password on standard input 标准输入没有密码")
        return text
    assert password is not None
    return password


@admin.command("create-staff")
@click.option("--username", required=True, help="登录名 Login name.")
@click.option(
    "--role", required=True, type=click.Choice(_ROLES), help="角色 operator/convener/officer."
)
@click.option("--display-name", default=None, help="显示名称 Display name (default: username).")
@click.option("--password", default=None, help="密码 Password (visible in the process list!).")
@click.option(
    "--password-stdin", is_flag=True, help="从标准输入读取密码 Read the password from stdin."
)
@click.option("--estate", "estates", multiple=True, type=int, help="召集人的小区 id (repeatable).")
@click.option(
    "--subdistrict", "subdistricts", multiple=True, type=int, help="街道办的街道 id (repeatable)."
)
def create_staff(
    *,
    username: str,
    role: str,
    display_name: str | None,
    password: str | None,
    password_stdin: bool,
    estates: tuple[int, ...],
    subdistricts: tuple[int, ...],
) -> None:
    """新建工作人员账号 Create a staff account (the first operator, or any account)."""
    import msgspec  # noqa: PLC0415

    from votes.service import accounts  # noqa: PLC0415
    from votes.service.context import build_context  # noqa: PLC0415
    from votes.service.errors import ServiceError  # noqa: PLC0415
    from votes.service.schemas import CreateStaffRequest  # noqa: PLC0415
    from votes.storage import SchemaNotCurrentError  # noqa: PLC0415

    secret = _read_password(password, password_stdin)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(f"配置错误 configuration error: {exc}") from exc
    values: dict[str, Any] = {
        "username": username,
        "password": secret,
        "role": role,
        "display_name": display_name or username,
        "estate_ids": list(estates),
        "subdistrict_ids": list(subdistricts),
    }
    try:
        request = msgspec.convert(values, CreateStaffRequest)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"参数无效 invalid value: {exc}") from exc

    async def main() -> Any:
        ctx = await build_context(settings)
        try:
            return await accounts.create_staff(ctx, request, actor=None)
        finally:
            await ctx.close()

    try:
        created = asyncio.run(main())
    except SchemaNotCurrentError as exc:
        raise click.ClickException(f"数据库未迁移 database not migrated: {exc}") from exc
    except ServiceError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh} {exc.message_en}") from exc
    except OSError as exc:
        raise click.ClickException(f"无法连接数据库 cannot reach the database: {exc}") from exc
    scope = ""
    if created.estate_ids:
        scope = f" estates {created.estate_ids}"
    if created.subdistrict_ids:
        scope = f" subdistricts {created.subdistrict_ids}"
    click.echo(f"已创建 created {created.role.value} {created.username!r} (id {created.id}){scope}")
