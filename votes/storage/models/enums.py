"""The column type that stores a domain enum (votes/enums.py) as its string value."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum

__all__ = ["enum_type"]


def enum_type(enum: type[StrEnum]) -> Enum:
    """A VARCHAR column holding the enum's *values* (not names), portable across backends."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
