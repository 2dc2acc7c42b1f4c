"""Who is acting, and the scope checks every staff use case starts with.

Scopes (DESIGN §2): an operator acts platform-wide; a convener only on the
estates in their scope; an officer only on estates in their subdistricts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from votes.service.errors import Forbidden
from votes.storage.models import StaffRole

__all__ = [
    "Actor",
    "require_estate",
    "require_role",
    "require_subdistrict",
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


def require_estate(actor: Actor, estate_id: int, subdistrict_id: int) -> None:
    """Refuse (403 ``estate_forbidden``) unless the estate is within the actor's scope."""
    if actor.role == StaffRole.OPERATOR:
        return
    if actor.role == StaffRole.CONVENER and estate_id in actor.estate_ids:
        return
    if actor.role == StaffRole.OFFICER and subdistrict_id in actor.subdistrict_ids:
        return
    raise Forbidden(
        "estate_forbidden",
        f"无权操作小区 {estate_id}（不在您的管辖范围内）",
        f"estate {estate_id} is outside your scope",
        details={"estate_id": estate_id},
    )


def require_subdistrict(actor: Actor, subdistrict_id: int) -> None:
    """Refuse (403 ``subdistrict_forbidden``) unless an officer there (or an operator)."""
    if actor.role == StaffRole.OPERATOR:
        return
    if actor.role == StaffRole.OFFICER and subdistrict_id in actor.subdistrict_ids:
        return
    raise Forbidden(
        "subdistrict_forbidden",
        f"无权在街道 {subdistrict_id} 操作（不在您的管辖范围内）",
        f"subdistrict {subdistrict_id} is outside your scope",
        details={"subdistrict_id": subdistrict_id},
    )
