"""Staff accounts: argon2id passwords with the settings' parameters, officer keys, audit."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from crypto.notes import CosignatureSigner
from crypto.signing import SigningKey
from tests.votes.service.conftest import World
from votes.enums import StaffRole
from votes.service import accounts
from votes.service.errors import ServiceError
from votes.service.schemas import CreateStaffRequest
from votes.storage.models import StaffAccount


async def test_login_with_the_right_password(world: World) -> None:
    actor = await accounts.authenticate(world.ctx, "convener-a", "pw-convener-a-123")
    assert (actor.username, actor.role, actor.estate_ids) == (
        "convener-a",
        StaffRole.CONVENER,
        frozenset({world.estate_a}),
    )


@pytest.mark.parametrize(("username", "password"), [("convener-a", "wrong"), ("nobody", "x")])
async def test_login_refused(world: World, username: str, password: str) -> None:
    with pytest.raises(ServiceError) as caught:
        await accounts.authenticate(world.ctx, username, password)
    assert (caught.value.code, caught.value.status) == ("invalid_credentials", 401)


async def test_password_stored_as_argon2id_with_the_settings_parameters(world: World) -> None:
    async with world.ctx.readers() as session:
        account = await session.get(StaffAccount, world.convener_a.staff_id)
    assert account is not None
    assert account.password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")


async def test_hash_is_upgraded_when_parameters_change(world: World) -> None:
    stronger = dataclasses.replace(world.ctx.settings, argon2_time_cost=2, argon2_memory_kib=16)
    ctx = dataclasses.replace(world.ctx, settings=stronger)
    await accounts.authenticate(ctx, "convener-a", "pw-convener-a-123")
    async with ctx.readers() as session:
        account = await session.get(StaffAccount, world.convener_a.staff_id)
    assert account is not None
    assert account.password_hash.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    assert await accounts.authenticate(ctx, "convener-a", "pw-convener-a-123")


async def test_logins_and_failures_are_audited(world: World) -> None:
    await accounts.authenticate(world.ctx, "convener-a", "pw-convener-a-123", ip="10.0.0.1")
    with pytest.raises(ServiceError):
        await accounts.authenticate(world.ctx, "convener-a", "nope", ip="10.0.0.2")
    events = await accounts.list_audit(world.ctx, actor=world.operator)
    seen = {(e.action, e.client_ip) for e in events}
    assert {("auth.login", "10.0.0.1"), ("auth.login_failed", "10.0.0.2")} <= seen


async def test_username_taken_refused(world: World) -> None:
    with pytest.raises(ServiceError) as caught:
        await accounts.create_staff(
            world.ctx,
            CreateStaffRequest(
                username="convener-a",
                password="password-123",
                role=StaffRole.CONVENER,
                display_name="x",
            ),
            actor=world.operator,
        )
    assert caught.value.code == "username_taken"


async def test_officer_key_name_and_key_are_unique(world: World) -> None:
    fresh = SigningKey.from_seed(b"\x31" * 32).public_key.hex()
    with pytest.raises(ServiceError) as caught:
        await accounts.enrol_officer_key(world.ctx, fresh, "officer.b", actor=world.officer_a.actor)
    assert caught.value.code == "officer_key_exists"
    with pytest.raises(ServiceError) as caught:
        await accounts.enrol_officer_key(
            world.ctx, world.officer_a.public_hex, "officer.a2", actor=world.officer_a.actor
        )
    assert caught.value.code == "officer_key_exists"


async def test_officer_key_carries_its_cosignature_key_id(world: World) -> None:

    keys = await accounts.list_officer_keys(world.ctx, actor=world.officer_a.actor)
    expected = CosignatureSigner("officer.a", world.officer_a.key).key_id.hex()
    assert [(k.name, k.key_id) for k in keys] == [("officer.a", expected)]


async def test_disabled_or_unknown_account_cannot_load(world: World) -> None:

    with pytest.raises(ServiceError) as caught:
        await accounts.load_actor(world.ctx, uuid.uuid4())
    assert caught.value.status == 401
