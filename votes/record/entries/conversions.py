"""The notice's roster and motions between :mod:`votes.model` objects and their wire form."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import msgspec

from crypto.signing import PublicKey
from votes.model import Motion, Roster, Unit, new_member
from votes.record.entries.schema import MemberWire, MotionWire, RosterWire, UnitWire
from votes.record.wire import canonical, sha256_hex

# --------------------------------------------------------------------------- roster


__all__ = [
    "motion_from_wire",
    "motion_to_wire",
    "owner_tag",
    "roster_from_wire",
    "roster_root",
    "roster_to_wire",
]


def owner_tag(owner: str, *, salt: bytes) -> str:
    """The opaque per-meeting tag of an owner key: HMAC-SHA256(salt, owner)[:8] as hex.

    Units whose owner sets share tags are grouped exactly as their owners would
    be, while the names stay out of the public record.
    """
    return hmac.new(salt, owner.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def roster_to_wire(roster: Roster, *, keys: Mapping[str, PublicKey], salt: bytes) -> RosterWire:
    """The frozen roster as published: owner keys replaced by tags, keys per member."""
    tags: dict[str, str] = {}
    for member in roster.members:
        for owner in member.owners:
            tags.setdefault(owner, owner_tag(owner, salt=salt))
    if len(set(tags.values())) != len(tags):
        raise ValueError("two owners got the same tag; choose another salt")
    members = []
    for member in sorted(roster.members, key=lambda m: m.id):
        if member.id not in keys:
            raise ValueError(f"no credential key for member {member.id!r}")
        units = [
            UnitWire(
                number=unit.number,
                building=unit.building,
                area=unit.area,
                kind=unit.kind,
                status=unit.status,
                area_source=unit.area_source,
                owners=sorted(tags[owner] for owner in unit.owners),
            )
            for unit in sorted(member.units, key=lambda u: u.number)
        ]
        members.append(
            MemberWire(
                id=member.id, key=keys[member.id].hex(), developer=member.is_developer, units=units
            )
        )
    return RosterWire(members=members)


def roster_from_wire(wire: RosterWire) -> Roster:
    """The roster as :mod:`votes.model` objects (owners are the opaque tags)."""
    # msgspec builds every Unit in C from the wire units' same-named fields
    # (owners list -> frozenset): a third of the cost of calling the frozen
    # dataclass __init__ 100,000 times.
    units = msgspec.convert(
        [unit for member in wire.members for unit in member.units],
        list[Unit],
        from_attributes=True,
    )
    members = []
    start = 0
    for member in wire.members:
        end = start + len(member.units)
        owned: tuple[Unit, ...]
        if end == start + 1:
            owned = (units[start],)
            owners = units[start].owners
        else:
            owned = tuple(units[start:end])
            owners = frozenset().union(*[unit.owners for unit in owned])
        members.append(new_member(member.id, owned, owners, member.developer))
        start = end
    return Roster(members=tuple(members))


def roster_root(wire: RosterWire) -> str:
    """SHA-256 (hex) of the canonical JSON of the roster object."""
    return sha256_hex(canonical(wire))


def motion_to_wire(motion: Motion) -> MotionWire:
    return MotionWire(
        id=motion.id,
        title=motion.title,
        item=motion.item,
        type=motion.type,
        seats=motion.seats,
        candidates=list(motion.candidates),
        scope=None if motion.scope is None else sorted(motion.scope),
    )


def motion_from_wire(wire: MotionWire) -> Motion:
    # The same-named fields: msgspec makes the candidates a tuple and the scope a frozenset.
    return msgspec.convert(wire, Motion, from_attributes=True)
