"""``votes verify BUNDLE``: re-check a meeting's published record offline.

Prints the numbered checklist (docs/verification.md §Checks), each check with
通过 PASS / 未通过 FAIL / 跳过 SKIP.  Exit status: 0 every check passed; 1 a
check failed (the first failed check and its log entry index are named last);
2 usage errors (click) and unreadable receipt files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from votes.record.receipt import Receipt, ReceiptError, decode_receipt
from votes.record.verify import Report, verify_bundle

__all__ = ["render_report", "verify"]

_STATUS = {"pass": "通过 PASS", "fail": "未通过 FAIL", "skip": "跳过 SKIP"}
_SHOWN_FINDINGS = 5


def render_report(report: Report) -> str:
    """The checklist as text, Chinese first with English beside."""
    lines = [f"核验会议记录 Verifying meeting record: {report.meeting or '?'}"]
    for check in report.checks:
        spec = check.spec
        lines.append(
            f"[{spec.number:2d}] {_STATUS[check.status]:<11} {spec.zh} {spec.en}"
            + (f" — {check.summary}" if check.summary else "")
        )
        for finding in check.findings[:_SHOWN_FINDINGS]:
            where = f"条目 entry {finding.entry}: " if finding.entry is not None else ""
            lines.append(f"       ✗ {where}{finding.message}")
        if len(check.findings) > _SHOWN_FINDINGS:
            lines.append(f"       … 另有 {len(check.findings) - _SHOWN_FINDINGS} 项 more")
    first = report.first_failure
    if first is None:
        lines.append("全部核验通过 ALL CHECKS PASSED")
    else:
        entry = "" if first.entry is None else f"，条目 {first.entry} (entry {first.entry})"
        lines.append(
            f"核验未通过：第 {first.spec.number} 项 {first.spec.zh}{entry} "
            f"VERIFICATION FAILED at check {first.spec.number} ({first.spec.name})"
        )
    return "\n".join(lines)


def _receipts(paths: tuple[Path, ...]) -> list[Receipt]:
    receipts = []
    for path in paths:
        try:
            receipts.append(decode_receipt(path.read_bytes()))
        except (OSError, ReceiptError) as exc:
            raise click.BadParameter(f"回执无法读取 cannot read receipt {path}: {exc}") from None
    return receipts


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="机器可读输出 Print the report as JSON.")
@click.option(
    "--service-key",
    metavar="KEY",
    help="信任的服务日志公钥 Trusted C2SP key string of the service log (name+hash+base64).",
)
@click.option(
    "--officer-key",
    "officer_keys",
    metavar="KEY",
    multiple=True,
    help="信任的街道办公钥 Trusted officer cosignature key string (repeatable).",
)
@click.option(
    "--receipt",
    "receipts",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    multiple=True,
    help="投票回执文件 A ballot receipt (JSON) to look up in the log (repeatable).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=lambda: min(2, os.cpu_count() or 1),
    show_default="min(2, CPUs)",
    help="签名核验进程数 Processes for checking signatures.",
)
def verify(  # noqa: PLR0917 - click passes options positionally
    bundle: Path,
    as_json: bool,
    service_key: str | None,
    officer_keys: tuple[str, ...],
    receipts: tuple[Path, ...],
    workers: int,
) -> None:
    """核验会议数据包 Verify a meeting bundle (BUNDLE, .ovb.json) offline."""
    report = verify_bundle(
        bundle,
        service_key=service_key,
        officer_keys=officer_keys,
        receipts=_receipts(receipts),
        workers=workers,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_report(report))
    raise SystemExit(0 if report.ok else 1)
