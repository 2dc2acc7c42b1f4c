"""The tally of a closed meeting, computed from its log exactly as a verifier recomputes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from votes.model import BallotRow, Channel
from votes.record.ballot import ballot_rows
from votes.record.entries import (
    BallotEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    KeyBook,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
    motion_from_wire,
    roster_from_wire,
)
from votes.record.wire import parse_time
from votes.tally import tally
from votes.tally_json import result_to_dict

__all__ = ["compute_result", "rows_from_entries"]


def rows_from_entries(notice: NoticeEntry, entries: Sequence[Entry]) -> list[BallotRow]:
    """One tally row per motion per logged ballot; the member is whoever held the key then."""
    book = KeyBook.from_roster(notice.roster)
    rows: list[BallotRow] = []
    for entry in entries:
        if isinstance(entry, CredentialRevokedEntry | CredentialReplacedEntry):
            book.apply(entry)
            continue
        if isinstance(entry, PaperBallotEntry):
            member = entry.member
            choices = entry.choices
            channel = Channel.PAPER
        elif isinstance(entry, BallotEntry | ProxyBallotEntry):
            found = book.member_for_key(entry.ballot.member)
            if found is None:  # never logged by the service; skip like the verifier
                continue
            member = found
            choices = entry.ballot.choices
            channel = Channel.PROXY if isinstance(entry, ProxyBallotEntry) else Channel.ONLINE
        else:
            continue
        rows.extend(
            ballot_rows(
                choices,
                member_id=member,
                channel=channel,
                time=parse_time(entry.time),
                seq=entry.index,
            )
        )
    return rows


def compute_result(notice: NoticeEntry, entries: Sequence[Entry]) -> dict[str, Any]:
    """:func:`~votes.tally_json.result_to_dict` of the meeting, from the notice and its entries."""
    result = tally(
        roster=roster_from_wire(notice.roster),
        motions=[motion_from_wire(m) for m in notice.agenda],
        ballots=rows_from_entries(notice, entries),
        settings=notice.settings.tally_settings(),
    )
    return result_to_dict(result)
