"""Service errors: record ballot errors keep their code; every code is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from votes.record.ballot import BallotError, BallotErrorCode
from votes.service.errors import RateLimited, ServiceError, from_ballot_error

_DOCUMENTED_STATUS = {
    BallotErrorCode.OVERSIZE: 413,
    BallotErrorCode.REVOKED_KEY: 409,
    BallotErrorCode.WRONG_ROSTER_ROOT: 409,
}


@pytest.mark.parametrize("code", list(BallotErrorCode))
def test_ballot_error_keeps_its_code_and_messages(code: BallotErrorCode) -> None:
    error = from_ballot_error(BallotError(code, "中文原因", "english reason"))
    assert (error.code, error.details["ballot_error"]) == (code.value.replace("-", "_"), code.value)
    assert (error.message("zh-CN"), error.message("en-GB")) == ("中文原因", "english reason")
    assert error.status == _DOCUMENTED_STATUS.get(code, 422)


def test_rate_limited_carries_retry_after() -> None:
    error = RateLimited("rate_limited", "太频繁", "too many requests", retry_after=30)
    assert (error.status, error.retry_after, error.to_dict("en")["details"]) == (
        429,
        30,
        {"retry_after": 30},
    )


def test_every_service_error_code_is_documented(repo_root: object) -> None:
    assert isinstance(repo_root, Path)
    documented = set(
        re.findall(
            r"^\| `([a-z_]+)` \| (\d{3}) \|",
            (repo_root / "docs" / "api-errors.md").read_text(),
            re.M,
        )
    )
    raised: set[tuple[str, str]] = set()
    status = {
        "NotFound": "404",
        "Unauthenticated": "401",
        "Forbidden": "403",
        "Conflict": "409",
        "Invalid": "422",
        "PayloadTooLarge": "413",
    }
    for path in (repo_root / "votes" / "service").glob("*.py"):
        source = path.read_text()
        for kind, code in re.findall(
            r"\b(NotFound|Unauthenticated|Forbidden|Conflict|Invalid|PayloadTooLarge)\(\s*\"([a-z_]+)\"",
            source,
        ):
            raised.add((code, status[kind]))
        # A plain ServiceError names its status (e.g. 503 ballot_not_stored).
        raised.update(
            re.findall(r'\bServiceError\(\s*"([a-z_]+)",.{0,600}?\bstatus=(\d{3})', source, re.S)
        )
    for code in BallotErrorCode:
        error = from_ballot_error(BallotError(code, "", ""))
        raised.add((error.code, str(error.status)))
    assert raised - documented == set()


def test_service_error_renders_in_the_requested_language() -> None:
    error = ServiceError("x_code", "中文", "English", details={"a": 1}, status=418)
    assert error.to_dict() == {"code": "x_code", "message": "中文", "details": {"a": 1}}
    assert error.to_dict("en")["message"] == "English"
    assert error.status == 418
