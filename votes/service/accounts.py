"""Staff accounts (argon2id passwords), officer keys and the audit trail."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crypto.notes import KEY_TYPE_COSIGNATURE, NoteError, key_id
from crypto.signing import PublicKey, SignatureError
from votes.enums import RegionLevel, StaffRole
from votes.service._common import audit as write_audit
from votes.service.actors import Actor, require_role
from votes.service.context import ServiceContext
from votes.service.errors import (
    Conflict,
    Invalid,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from votes.service.schemas import AuditOut, CreateStaffRequest, OfficerKeyOut, StaffOut
from votes.storage.models import (
    AuditEvent,
    Estate,
    OfficerKey,
    Region,
    StaffAccount,
    StaffEstateScope,
    StaffSubdistrictScope,
)

__all__ = [
    "LoginAttempt",
    "LoginThrottle",
    "audit",
    "authenticate",
    "create_staff",
    "enrol_officer_key",
    "list_audit",
    "list_officer_keys",
    "load_actor",
    "password_hasher",
    "revoke_officer_key",
]


def password_hasher(ctx: ServiceContext) -> PasswordHasher:
    """argon2id with the settings' explicit time, memory and parallelism."""
    s = ctx.settings
    return PasswordHasher(
        time_cost=s.argon2_time_cost,
        memory_cost=s.argon2_memory_kib,
        parallelism=s.argon2_parallelism,
    )


def _staff_out(account: StaffAccount, estates: list[int], subdistricts: list[int]) -> StaffOut:
    return StaffOut(
        id=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        estate_ids=sorted(estates),
        subdistrict_ids=sorted(subdistricts),
    )


async def create_staff(
    ctx: ServiceContext,
    request: CreateStaffRequest,
    *,
    actor: Actor | None,
    ip: str | None = None,
) -> StaffOut:
    """Create a staff account. ``actor`` None is the bootstrap path (``votes admin``)."""
    if actor is not None:
        require_role(actor, StaffRole.OPERATOR)
    for field, ids in (
        ("estate_ids", request.estate_ids),
        ("subdistrict_ids", request.subdistrict_ids),
    ):
        seen: set[int] = set()
        for scope_id in ids:  # a repeated id would break the scope tables' primary keys
            if scope_id in seen:
                raise Invalid(
                    "duplicate_scope_id",
                    f"{field} 中的编号 {scope_id} 重复",
                    f"the id {scope_id} appears more than once in {field}",
                    details={"field": field, "id": scope_id},
                )
            seen.add(scope_id)
    if request.role == StaffRole.CONVENER and request.subdistrict_ids:
        raise Invalid(
            "scope_mismatch",
            "召集人只能关联小区",
            "a convener is scoped to estates, not subdistricts",
        )
    if request.role == StaffRole.OFFICER and request.estate_ids:
        raise Invalid(
            "scope_mismatch",
            "街道办人员只能关联街道",
            "an officer is scoped to subdistricts, not estates",
        )
    if request.role == StaffRole.OPERATOR and (request.estate_ids or request.subdistrict_ids):
        raise Invalid(
            "scope_mismatch",
            "平台管理员不需要范围",
            "an operator acts platform-wide; give no scopes",
        )
    hashed = await asyncio.to_thread(password_hasher(ctx).hash, request.password)
    async with ctx.sessions.begin() as session:
        for estate_id in request.estate_ids:
            if await session.get(Estate, estate_id) is None:
                raise NotFound(
                    "estate_not_found",
                    f"小区 {estate_id} 不存在",
                    f"estate {estate_id} does not exist",
                )
        for region_id in request.subdistrict_ids:
            region = await session.get(Region, region_id)
            if region is None or region.level != RegionLevel.SUBDISTRICT:
                raise NotFound(
                    "subdistrict_not_found",
                    f"街道 {region_id} 不存在",
                    f"subdistrict {region_id} does not exist",
                )
        taken = await session.scalar(
            select(StaffAccount.id).where(StaffAccount.username == request.username)
        )
        if taken is not None:
            raise Conflict(
                "username_taken",
                f"用户名 {request.username!r} 已被使用",
                f"username {request.username!r} is taken",
            )
        account = StaffAccount(
            username=request.username,
            display_name=request.display_name,
            role=request.role,
            password_hash=hashed,
            active=True,
            created_at=ctx.now(),
        )
        session.add(account)
        await session.flush()
        for estate_id in request.estate_ids:
            session.add(StaffEstateScope(staff_id=account.id, estate_id=estate_id))
        for region_id in request.subdistrict_ids:
            session.add(StaffSubdistrictScope(staff_id=account.id, subdistrict_id=region_id))
        await write_audit(
            session,
            ctx,
            actor,
            "staff.create",
            estate_id=None,
            target=f"staff:{account.id}",
            details={"username": request.username, "role": request.role.value},
            ip=ip,
        )
        return _staff_out(account, request.estate_ids, request.subdistrict_ids)


# A hash to check against when the username is unknown, so a login attempt
# takes the same time whether or not the account exists.
_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = hasher.hash(uuid.uuid4().hex)
    return _DUMMY[key]


def _bad_login() -> Unauthenticated:
    return Unauthenticated("invalid_credentials", "用户名或密码错误", "wrong username or password")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginAttempt:
    """A login attempt as the account's throttle sees it (:class:`LoginThrottle`)."""

    retry_after: int = 0  # > 0: refused, the account must wait this many seconds
    failures: int = 0  # attempts without a good password so far, this one included
    delay: int = 0  # seconds the account must wait if this attempt fails too


class LoginThrottle(Protocol):
    """Per-account attempt counting shared by every app process (web.ratelimit)."""

    async def begin(self, username: str, *, now: float) -> LoginAttempt:
        """Count an attempt at ``now`` (POSIX seconds), or refuse it while a delay runs."""
        ...

    async def succeeded(self, username: str) -> None:
        """Forget the account's failures after a good password."""
        ...


def _throttled(retry_after: int) -> RateLimited:
    return RateLimited(
        "login_throttled",
        f"该账号登录失败次数过多，请 {retry_after} 秒后再试",
        f"too many failed logins for this account; try again in {retry_after} s",
        retry_after=retry_after,
    )


async def authenticate(
    ctx: ServiceContext,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    throttle: LoginThrottle | None = None,
) -> Actor:
    """The actor for a correct username and password; refuses with ``invalid_credentials``.

    With a ``throttle``, an account with too many failures in a row is
    refused with ``login_throttled`` (429) until its delay has passed, before
    any password is checked; the failure that starts or lengthens a delay is
    audited (``auth.login_throttled``) for existing accounts.

    A hash made with other argon2 parameters than the settings' is replaced
    after a successful login.
    """
    attempt = LoginAttempt()
    if throttle is not None:
        attempt = await throttle.begin(username, now=ctx.now().timestamp())
        if attempt.retry_after:
            raise _throttled(attempt.retry_after)
    hasher = password_hasher(ctx)
    async with ctx.readers() as session:
        account = await session.scalar(
            select(StaffAccount).where(StaffAccount.username == username)
        )
    if account is None or not account.active:
        await asyncio.to_thread(_verify_quietly, hasher, _dummy_hash(hasher), password)
        raise _bad_login()
    if not await asyncio.to_thread(_verify_quietly, hasher, account.password_hash, password):
        async with ctx.sessions.begin() as session:
            await write_audit(
                session,
                ctx,
                None,
                "auth.login_failed",
                estate_id=None,
                target=f"staff:{account.id}",
                details={"username": username},
                ip=ip,
            )
            if attempt.delay:
                await write_audit(
                    session,
                    ctx,
                    None,
                    "auth.login_throttled",
                    estate_id=None,
                    target=f"staff:{account.id}",
                    details={
                        "username": username,
                        "failures": attempt.failures,
                        "delay_seconds": attempt.delay,
                    },
                    ip=ip,
                )
        raise _bad_login()
    if throttle is not None:
        await throttle.succeeded(username)
    rehash = hasher.check_needs_rehash(account.password_hash)
    new_hash = await asyncio.to_thread(hasher.hash, password) if rehash else None
    actor = await load_actor(ctx, account.id)
    async with ctx.sessions.begin() as session:
        if new_hash is not None:
            stored = await session.get(StaffAccount, account.id)
            assert stored is not None
            stored.password_hash = new_hash
        await write_audit(
            session,
            ctx,
            actor,
            "auth.login",
            estate_id=None,
            target=f"staff:{account.id}",
            details={"rehashed": rehash},
            ip=ip,
        )
    return actor


def _verify_quietly(hasher: PasswordHasher, hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def load_actor(ctx: ServiceContext, staff_id: uuid.UUID) -> Actor:
    """The actor of an active account (for a session); ``unauthenticated`` otherwise."""
    async with ctx.readers() as session:
        account = await session.get(StaffAccount, staff_id)
        if account is None or not account.active:
            raise Unauthenticated(
                "unauthenticated", "请先登录", "not logged in (the account is unknown or disabled)"
            )
        estates = (
            await session.execute(
                select(StaffEstateScope.estate_id).where(StaffEstateScope.staff_id == staff_id)
            )
        ).scalars()
        subdistricts = (
            await session.execute(
                select(StaffSubdistrictScope.subdistrict_id).where(
                    StaffSubdistrictScope.staff_id == staff_id
                )
            )
        ).scalars()
        return Actor(
            staff_id=account.id,
            username=account.username,
            role=account.role,
            estate_ids=frozenset(estates),
            subdistrict_ids=frozenset(subdistricts),
        )


async def staff_info(ctx: ServiceContext, *, actor: Actor) -> StaffOut:
    async with ctx.readers() as session:
        account = await session.get(StaffAccount, actor.staff_id)
        assert account is not None
        return _staff_out(account, list(actor.estate_ids), list(actor.subdistrict_ids))


# ------------------------------------------------------------------ officer keys


def key_out(key: OfficerKey) -> OfficerKeyOut:
    return OfficerKeyOut(
        id=key.id,
        officer_id=key.officer_id,
        public_key=key.public_key.hex(),
        name=key.note_name,
        key_id=key.note_key_id.hex(),
        enrolled_at=key.enrolled_at,
        revoked_at=key.revoked_at,
    )


async def enrol_officer_key(
    ctx: ServiceContext,
    public_key_hex: str,
    label: str,
    *,
    actor: Actor,
    ip: str | None = None,
) -> OfficerKeyOut:
    """Enrol the acting officer's Ed25519 public key under the note key name ``label``.

    The private key stays on the officer's device. Names are unique, so that a
    bundle lists each officer key under its own name.
    """
    require_role(actor, StaffRole.OFFICER)
    try:
        public = PublicKey.from_hex(public_key_hex.lower()).check_point()
        ident = key_id(label, KEY_TYPE_COSIGNATURE, public.raw)
    except (SignatureError, NoteError, ValueError) as exc:
        raise Invalid(
            "bad_officer_key",
            "公钥或名称无效（公钥须为 64 位十六进制的 Ed25519 公钥，名称不得含空格或 +）",
            f"the public key or its name is invalid: {exc}",
            details={"public_key": public_key_hex, "name": label},
        ) from None
    async with ctx.sessions.begin() as session:
        clash = await session.scalar(
            select(OfficerKey.id).where(
                (OfficerKey.public_key == public.raw) | (OfficerKey.note_name == label)
            )
        )
        if clash is not None:
            raise Conflict(
                "officer_key_exists",
                "该公钥或名称已登记",
                "this public key or key name is already enrolled",
                details={"name": label},
            )
        key = OfficerKey(
            officer_id=actor.staff_id,
            public_key=public.raw,
            note_name=label,
            note_key_id=ident,
            enrolled_at=ctx.now(),
        )
        session.add(key)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(
                "officer_key_exists", "该公钥已登记", "this public key is already enrolled"
            ) from None
        await write_audit(
            session,
            ctx,
            actor,
            "officer_key.enrol",
            estate_id=None,
            target=f"officer_key:{key.id}",
            details={"name": label, "public_key": public.hex()},
            ip=ip,
        )
        return key_out(key)


async def revoke_officer_key(
    ctx: ServiceContext, key_uuid: uuid.UUID, *, actor: Actor, ip: str | None = None
) -> OfficerKeyOut:
    """Revoke an officer key (its owner, or an operator). Later signatures by it are refused."""
    require_role(actor, StaffRole.OFFICER, StaffRole.OPERATOR)
    async with ctx.sessions.begin() as session:
        key = await session.get(OfficerKey, key_uuid)
        # Another officer's key is answered like a nonexistent one: an officer
        # cannot learn which key ids exist outside their own (actors.py).
        if key is None or (actor.role == StaffRole.OFFICER and key.officer_id != actor.staff_id):
            raise NotFound(
                "officer_key_not_found", "找不到该密钥", f"officer key {key_uuid} does not exist"
            )
        if key.revoked_at is None:
            key.revoked_at = ctx.now()
            await write_audit(
                session,
                ctx,
                actor,
                "officer_key.revoke",
                estate_id=None,
                target=f"officer_key:{key.id}",
                details={"name": key.note_name},
                ip=ip,
            )
        return key_out(key)


async def list_officer_keys(ctx: ServiceContext, *, actor: Actor) -> list[OfficerKeyOut]:
    """The acting officer's keys (an operator sees every key)."""
    require_role(actor, StaffRole.OFFICER, StaffRole.OPERATOR)
    async with ctx.readers() as session:
        statement = select(OfficerKey).order_by(OfficerKey.enrolled_at)
        if actor.role == StaffRole.OFFICER:
            statement = statement.where(OfficerKey.officer_id == actor.staff_id)
        return [key_out(k) for k in (await session.execute(statement)).scalars()]


# ------------------------------------------------------------------ audit


async def audit(
    ctx: ServiceContext,
    action: str,
    *,
    actor: Actor | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    estate_id: int | None = None,
) -> None:
    """Record a staff action in its own transaction (for actions outside the service,
    e.g. logout). Service use cases write their audit record in their own transaction."""
    async with ctx.sessions.begin() as session:
        await write_audit(
            session,
            ctx,
            actor,
            action,
            estate_id=estate_id,
            target=target,
            details=details,
            ip=ip,
        )


async def list_audit(
    ctx: ServiceContext, *, actor: Actor, estate_id: int | None = None, limit: int = 200
) -> list[AuditOut]:
    """Recent audit records: operators see all; others only their estates' and their own."""
    async with ctx.readers() as session:
        statement = (
            select(AuditEvent).order_by(AuditEvent.at.desc()).limit(max(1, min(limit, 1000)))
        )
        if estate_id is not None:
            statement = statement.where(AuditEvent.estate_id == estate_id)
        if actor.role != StaffRole.OPERATOR:
            visible = await _visible_estates(session, actor)
            statement = statement.where(
                AuditEvent.estate_id.in_(visible) | (AuditEvent.staff_id == actor.staff_id)
            )
        return [
            AuditOut(
                id=e.id,
                estate_id=e.estate_id,
                staff_id=e.staff_id,
                action=e.action,
                target=e.target,
                details=e.details,
                client_ip=e.client_ip,
                at=e.at,
            )
            for e in (await session.execute(statement)).scalars()
        ]


async def _visible_estates(session: Any, actor: Actor) -> list[int]:
    if actor.role == StaffRole.CONVENER:
        return sorted(actor.estate_ids)
    rows = await session.execute(
        select(Estate.id).where(Estate.subdistrict_id.in_(sorted(actor.subdistrict_ids)))
    )
    return list(rows.scalars())
