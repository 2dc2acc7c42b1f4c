"""Service errors: a stable code, an HTTP status and the message in Chinese and English.

Every refusal of a use case is a :class:`ServiceError` (or subclass). The web
layer renders ``{"code", "message"}`` from it in the request's language; the
table of codes is docs/api-errors.md. Errors from lower layers that describe
bad input (:class:`votes.record.ballot.BallotError`,
:class:`votes.inputs.problems.InputError`) are converted here so their codes survive.
"""

from __future__ import annotations

from typing import Any

from votes.inputs.problems import InputError
from votes.record.ballot import BallotError, BallotErrorCode

__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceError",
    "Unauthenticated",
    "ballot_code",
    "from_ballot_error",
    "from_input_error",
]


class ServiceError(Exception):
    """A refused request. ``code`` is stable snake_case; ``status`` the HTTP status."""

    status: int = 400

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details: dict[str, Any] = dict(details or {})
        if status is not None:
            self.status = status

    def message(self, language: str = "zh-CN") -> str:
        """The message in ``language`` ("en..." for English, Chinese otherwise)."""
        return self.message_en if language.lower().startswith("en") else self.message_zh

    def to_dict(self, language: str = "zh-CN") -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message(language)}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 404


class Unauthenticated(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 401


class Forbidden(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 403


class Conflict(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 409


class Invalid(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 422


class PayloadTooLarge(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 413


class RateLimited(ServiceError):  # noqa: N818 - names agreed in SERVICE.md
    status = 429

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        retry_after: int,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            code, message_zh, message_en, details={"retry_after": retry_after, **(details or {})}
        )
        self.retry_after = retry_after


# Ballot refusals that describe the meeting's state rather than a malformed
# body are conflicts; an oversized body is 413; everything else is 422.
_BALLOT_STATUS: dict[BallotErrorCode, int] = {
    BallotErrorCode.OVERSIZE: 413,
    BallotErrorCode.REVOKED_KEY: 409,
    BallotErrorCode.WRONG_ROSTER_ROOT: 409,
}


def ballot_code(code: BallotErrorCode) -> str:
    """The service code of a record ballot error: the same code in snake_case."""
    return code.value.replace("-", "_")


def from_ballot_error(error: BallotError) -> ServiceError:
    """The ServiceError for a record :class:`BallotError` (its code kept in ``details``)."""
    status = _BALLOT_STATUS.get(error.code, 422)
    cls: type[ServiceError] = {413: PayloadTooLarge, 409: Conflict}.get(status, Invalid)
    return cls(
        ballot_code(error.code),
        error.message_zh,
        error.message_en,
        details={"ballot_error": error.code.value},
    )


def from_input_error(error: InputError) -> Invalid:
    """An :class:`Invalid` listing every problem of a refused file (row, column, code)."""
    problems = [p.to_dict() for p in error.problems]
    return Invalid(
        "input_invalid",
        f"文件有 {len(problems)} 处错误，未导入任何内容",
        f"the file has {len(problems)} problem(s); nothing was imported",
        details={"problems": problems, "source": error.source},
    )
