"""``votes simulate``: record a synthetic meeting and write its bundle.

Deterministic for a given ``--seed``; used for demos, the worked example in
docs/verification.md and the verification benchmark.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from votes.model import DuplicatePolicy
from votes.record.bundle import write_bundle
from votes.record.receipt import encode_receipt
from votes.record.simulate import simulate as run_simulation

__all__ = ["simulate"]


@click.command()
@click.option(
    "--members", type=click.IntRange(min=3), required=True, help="业主（票数）Voting members."
)
@click.option(
    "--motions",
    type=click.IntRange(min=1, max=50),
    default=5,
    show_default=True,
    help="议题数 Motions.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="输出文件 Bundle to write (.ovb.json).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="随机种子 Random seed.")
@click.option(
    "--policy",
    type=click.Choice([p.value for p in DuplicatePolicy]),
    default=DuplicatePolicy.LATEST_WINS.value,
    show_default=True,
    help="重复投票规则 Duplicate policy.",
)
@click.option(
    "--receipts",
    "receipts_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="另存几张示例回执 Also write the sample receipts into this folder.",
)
def simulate(  # noqa: PLR0917 - click passes options positionally
    members: int, motions: int, out: Path, seed: int, policy: str, receipts_dir: Path | None
) -> None:
    """生成模拟会议数据包 Write the bundle of a simulated meeting."""
    started = time.perf_counter()
    result = run_simulation(
        members=members, motions=motions, seed=seed, policy=DuplicatePolicy(policy)
    )
    write_bundle(result.bundle, out)
    if receipts_dir is not None:
        receipts_dir.mkdir(parents=True, exist_ok=True)
        for number, receipt in enumerate(result.receipts):
            (receipts_dir / f"receipt-{number}.json").write_bytes(encode_receipt(receipt))
    ballots = sum(
        1
        for e in result.entries
        if type(e).__name__ in ("BallotEntry", "PaperBallotEntry", "ProxyBallotEntry")
    )
    click.echo(
        f"已写入 wrote {out}: {len(result.entries)} 条目 entries, {ballots} 张选票 ballots, "
        f"{members} 业主 members ({time.perf_counter() - started:.1f} s)"
    )
