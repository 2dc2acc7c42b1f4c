"""Who is acting, and the scope checks every staff use case starts with.

Scopes (docs/design.md §2): an operator acts platform-wide; a convener only on the
estates in their scope; an officer only on estates in their subdistricts.

Outside their scope a staff member learns nothing, not even what exists: an
estate, meeting or subdistrict outside the actor's scope is refused with the
very 404 a nonexistent one gets (same code, message and details), so probing
ids cannot tell "not yours" from "no such thing". Role refusals (403
``role_forbidden``) are only given for what is within the actor's scope,
where its existence is no secret.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from votes.enums import StaffRole
from votes.service.errors import Forbidden, NotFound

__all__ = [
    "Actor",
    "estate_not_found",
    "in_scope",
    "meeting_not_found",
    "require_estate",
    "require_role",
    "require_subdistrict",
    "subdistrict_not_found",
]

_ROLE_ZH = {
    StaffRole.OPERATOR: "平台管理员",
    StaffRole.CONVENER: "召集人",
    StaffRole.OFFICER: "街道办工作人员",
}


@dataclass(frozen=True)
class Actor:
    staff_id: uuid.UUID
    username: str
    role: StaffRole
    estate_ids: frozenset[int] = frozenset()
    subdistrict_ids: frozenset[int] = frozenset()


def require_role(actor: Actor, *roles: StaffRole) -> None:
    """Refuse (403 ``role_forbidden``) unless the actor has one of ``roles``."""
    if actor.role not in roles:
        wanted_zh = "、".join(_ROLE_ZH[r] for r in roles)
        wanted_en = ", ".join(r.value for r in roles)
        raise Forbidden(
            "role_forbidden",
            f"此操作仅限{wanted_zh}（当前账号：{_ROLE_ZH[actor.role]}）",
            f"this action needs role {wanted_en} (you are {actor.role.value})",
            details={"role": actor.role.value, "allowed": [r.value for r in roles]},
        )


def estate_not_found(estate_id: int) -> NotFound:
    """The 404 of an estate that does not exist (or is outside the actor's scope)."""
    return NotFound(
        "estate_not_found", f"小区 {estate_id} 不存在", f"estate {estate_id} does not exist"
    )


def meeting_not_found(code: str) -> NotFound:
    """The 404 of a meeting code that does not exist (or is outside the actor's scope)."""
    return NotFound(
        "meeting_not_found", f"会议 {code!r} 不存在", f"meeting {code!r} does not exist"
    )


def subdistrict_not_found(subdistrict_id: int) -> NotFound:
    """The 404 of a subdistrict that does not exist (or is outside the actor's scope)."""
    return NotFound(
        "subdistrict_not_found",
        f"街道 {subdistrict_id} 不存在",
        f"subdistrict {subdistrict_id} does not exist",
    )


def in_scope(actor: Actor, estate_id: int, subdistrict_id: int) -> bool:
    """True iff the estate (in that subdistrict) is within the actor's scope."""
    if actor.role == StaffRole.OPERATOR:
        return True
    if actor.role == StaffRole.CONVENER:
        return estate_id in actor.estate_ids
    return actor.role == StaffRole.OFFICER and subdistrict_id in actor.subdistrict_ids


def require_estate(
    actor: Actor, estate_id: int, subdistrict_id: int, *, hidden: NotFound | None = None
) -> None:
    """Refuse unless the estate is within the actor's scope, with the 404 of what was
    asked for (``hidden``; by default the estate's own :func:`estate_not_found`)."""
    if not in_scope(actor, estate_id, subdistrict_id):
        raise hidden if hidden is not None else estate_not_found(estate_id)


def require_subdistrict(
    actor: Actor, subdistrict_id: int, *, hidden: NotFound | None = None
) -> None:
    """Refuse unless an officer there (or an operator), with the 404 of what was asked
    for (``hidden``; by default :func:`subdistrict_not_found`)."""
    if actor.role == StaffRole.OPERATOR:
        return
    if actor.role == StaffRole.OFFICER and subdistrict_id in actor.subdistrict_ids:
        return
    raise hidden if hidden is not None else subdistrict_not_found(subdistrict_id)
