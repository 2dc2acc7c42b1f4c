"""``votes tally``: count a vote offline from a roster, a motions file and a ballots file.

Exit status: 0 when a result was computed (whether the motions pass or fail);
2 when an input cannot be read or is invalid — every problem is listed with
its file, row and column, and nothing is counted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from votes.cli.tally_format import render_result
from votes.inputs.ballots_file import import_ballots
from votes.inputs.motions_file import read_motions
from votes.inputs.problems import InputError, Problem
from votes.inputs.roster import import_roster
from votes.model import (
    DuplicatePolicy,
    InvalidBallots,
    Motion,
    NonVoterRule,
    Roster,
    Rulebook,
    TallySettings,
)
from votes.tally import tally as count_votes
from votes.tally_json import result_to_dict

__all__ = ["tally", "tally_command"]

_EXIT_BAD_INPUT = 2

_PathOption = click.Path(dir_okay=False, path_type=Path)


def _values(enum: type[Rulebook | DuplicatePolicy | InvalidBallots | NonVoterRule]) -> list[str]:
    return [member.value for member in enum]


def _print_problems(err: Console, label: str, path: Path, error: InputError) -> None:
    err.print(
        f"[bold red]{label} {path}[/]: {len(error.problems)} 个问题 problem(s)", highlight=False
    )
    for problem in error.problems:
        err.print(f"  {problem}", markup=False, highlight=False)


def _print_warnings(err: Console, label: str, warnings: tuple[Problem, ...]) -> None:
    for problem in warnings:
        err.print(f"[yellow]提示 warning[/] {label}: ", end="", highlight=False)
        err.print(str(problem), markup=False, highlight=False)


@click.command("tally")
@click.option(
    "--roster", "roster_path", type=_PathOption, required=True, help="业主名册 roster CSV/XLSX"
)
@click.option(
    "--ballots", "ballots_path", type=_PathOption, required=True, help="选票 ballots CSV/XLSX"
)
@click.option(
    "--motions", "motions_path", type=_PathOption, required=True, help="议题 motions JSON"
)
@click.option(
    "--rulebook",
    type=click.Choice(_values(Rulebook)),
    default=Rulebook.CIVIL_CODE_2021.value,
    show_default=True,
    help="计票规则 rulebook (property-law-2007 for votes decided before 2021)",
)
@click.option(
    "--duplicate-policy",
    type=click.Choice(_values(DuplicatePolicy)),
    default=DuplicatePolicy.ONE_VOTE_ONLY.value,
    show_default=True,
    help="重复投票 which ballot counts when a member voted more than once",
)
@click.option(
    "--invalid",
    type=click.Choice(_values(InvalidBallots)),
    default=InvalidBallots.PARTICIPATING.value,
    show_default=True,
    help="无效票是否计入参与表决 whether invalid ballots count as participation",
)
@click.option(
    "--non-voters",
    type=click.Choice(_values(NonVoterRule)),
    default=NonVoterRule.STRICT.value,
    show_default=True,
    help="未投票 strict, or follow-majority only if the estate's rules say so",
)
@click.option("--include-parking", is_flag=True, help="车位面积计入 count parking-space area")
@click.option(
    "--json", "as_json", is_flag=True, help="输出 JSON print the result as one JSON object"
)
def tally_command(
    *,
    roster_path: Path,
    ballots_path: Path,
    motions_path: Path,
    rulebook: str,
    duplicate_policy: str,
    invalid: str,
    non_voters: str,
    include_parking: bool,
    as_json: bool,
) -> None:
    """计票 Count an owners' vote offline (民法典 278 or 物权法 76)."""
    err = Console(stderr=True)
    failed = False
    roster: Roster | None = None
    motions: list[Motion] | None = None
    try:
        imported = import_roster(roster_path)
        roster = imported.roster
        _print_warnings(err, "名册 roster", imported.warnings)
    except InputError as exc:
        _print_problems(err, "名册 roster", roster_path, exc)
        failed = True
    try:
        motions = read_motions(motions_path, roster=roster)
    except InputError as exc:
        _print_problems(err, "议题 motions", motions_path, exc)
        failed = True
    if roster is None or motions is None:
        err.print("选票未读取：先修正以上问题 ballots not read until the problems above are fixed")
        sys.exit(_EXIT_BAD_INPUT)
    try:
        ballots = import_ballots(ballots_path, roster=roster, motions=motions)
        _print_warnings(err, "选票 ballots", ballots.warnings)
    except InputError as exc:
        _print_problems(err, "选票 ballots", ballots_path, exc)
        sys.exit(_EXIT_BAD_INPUT)
    if failed:
        sys.exit(_EXIT_BAD_INPUT)

    settings = TallySettings(
        rulebook=Rulebook(rulebook),
        duplicate_policy=DuplicatePolicy(duplicate_policy),
        invalid_ballots=InvalidBallots(invalid),
        non_voters=NonVoterRule(non_voters),
        include_parking_area=include_parking,
    )
    try:
        result = count_votes(
            roster=roster, motions=motions, ballots=ballots.rows, settings=settings
        )
    except ValueError as exc:
        err.print(f"[bold red]无法计票 cannot tally[/]: {exc}", highlight=False)
        sys.exit(_EXIT_BAD_INPUT)
    if as_json:
        click.echo(json.dumps(result_to_dict(result), ensure_ascii=False, indent=2))
    else:
        render_result(result, Console())


#: The name registered in ``votes.cli._COMMANDS``.
tally = tally_command
