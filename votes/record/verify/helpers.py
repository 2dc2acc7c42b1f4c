"""What the checks share: the ballot entry kinds, an entry's choices, time fields and type
tag, and the Merkle nodes of the whole log.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence

import msgspec

from crypto.merkle import NodeId, node_hash
from votes.record.entries import (
    BallotEntry,
    ClosingEntry,
    CredentialReplacedEntry,
    CredentialRevokedEntry,
    Entry,
    NoticeEntry,
    PaperBallotEntry,
    ProxyBallotEntry,
)

BALLOT_KINDS = (BallotEntry, PaperBallotEntry, ProxyBallotEntry)
MEMBER_SIGNED = (BallotEntry, ProxyBallotEntry)
CREDENTIAL_CHANGES = (CredentialRevokedEntry, CredentialReplacedEntry)
BallotKind = BallotEntry | PaperBallotEntry | ProxyBallotEntry


def hex_bytes(data: str) -> bytes:
    return bytes.fromhex(data)


encode_choices = msgspec.json.Encoder().encode  # in the dict's own order: a cache key, not a record
member_of = operator.itemgetter(0)


class PerfectNodes(Mapping[NodeId, bytes]):
    """Every perfect-subtree hash of the log by (level, index), for :func:`root_plan`.

    Kept as one list per level rather than one dict entry per node.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = []
        row = list(leaves)
        while row:
            self._levels.append(row)
            row = list(map(node_hash, row[0:-1:2], row[1::2]))

    def __getitem__(self, node: NodeId) -> bytes:
        level, index = node
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise KeyError(node)

    def __iter__(self) -> Iterator[NodeId]:
        return ((level, i) for level, row in enumerate(self._levels) for i in range(len(row)))

    def __len__(self) -> int:
        return sum(map(len, self._levels))


MORE_TIMES = (NoticeEntry, ClosingEntry, PaperBallotEntry)  # time fields besides "time"


def time_fields(entry: Entry) -> tuple[str, ...]:
    if isinstance(entry, NoticeEntry):
        return ("time", "notice_at", "open_at", "close_at")
    if isinstance(entry, ClosingEntry):
        return ("time", "closed_at")
    if isinstance(entry, PaperBallotEntry):
        return ("time", "entered_at")
    return ("time",)


def entry_tag(kind: type[Entry]) -> str:
    """The ``type`` of the entries of this class."""
    tag = kind.__struct_config__.tag
    assert isinstance(tag, str)
    return tag
