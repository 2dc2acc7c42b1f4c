"""The report `votes verify` gives: the numbered checks (docs/verification.md §Checks) and
each one's result and findings, in the form ``--json`` prints (:meth:`Report.to_dict`).

The text form is the command's: :func:`votes.cli.verify_cmd.render_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One numbered check: its name in the report and its title in Chinese and English."""

    number: int
    name: str
    zh: str
    en: str


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(1, "bundle", "数据包格式与密钥", "bundle format and keys"),
    CheckSpec(2, "entries", "日志条目格式", "entry format"),
    CheckSpec(3, "sequence", "条目顺序与会议流程", "entry order and lifecycle"),
    CheckSpec(4, "checkpoint", "最新检查点与日志一致", "latest checkpoint matches the log"),
    CheckSpec(5, "history", "日志延续早期检查点", "log extends every earlier checkpoint"),
    CheckSpec(6, "receipts", "投票回执在日志中", "receipts are in the log"),
    CheckSpec(7, "roster", "业主名册与归并", "roster root and member grouping"),
    CheckSpec(8, "approval", "街道办审核签名", "officer approval"),
    CheckSpec(9, "credentials", "凭证作废与补发", "credential revocations and replacements"),
    CheckSpec(10, "signatures", "选票与异议签名", "ballot and objection signatures"),
    CheckSpec(11, "ballots", "选票内容与凭证", "ballot contents and credentials"),
    CheckSpec(12, "voting-period", "投票期", "voting period"),
    CheckSpec(13, "effective", "有效票（每户一票）", "effective ballots (one per member)"),
    CheckSpec(14, "tally", "计票结果重算一致", "tally recomputed and equal"),
    CheckSpec(15, "certification", "街道办确认签名", "officer certification"),
)

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found by a check; ``entry`` is the log index concerned, if any."""

    entry: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one check gave: its status, a one-line summary, and what it found wrong."""

    spec: CheckSpec
    status: Status  # "fail" when there are findings; "skip" when the check could not run
    summary: str
    # In the order found; to_dict lists the first 100 and the total.
    findings: tuple[Finding, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def entry(self) -> int | None:
        """The log index of the first finding that names one."""
        return next((f.entry for f in self.findings if f.entry is not None), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.spec.number,
            "name": self.spec.name,
            "title_zh": self.spec.zh,
            "title_en": self.spec.en,
            "status": self.status,
            "summary": self.summary,
            "entry": self.entry,
            "findings": [{"entry": f.entry, "message": f.message} for f in self.findings[:100]],
            "findings_total": len(self.findings),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """Every check's result, in number order."""

    meeting: str | None
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status == "fail"), None)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "ok": self.ok,
            "meeting": self.meeting,
            "first_failure": None
            if first is None
            else {"number": first.spec.number, "name": first.spec.name, "entry": first.entry},
            "checks": [check.to_dict() for check in self.checks],
        }
