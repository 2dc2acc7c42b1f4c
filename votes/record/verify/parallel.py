"""The per-ballot work of checks 2 and 10 (leaf hashes, signatures), in one fork pool.

With ``workers`` > 1 the forked workers decode chunks of the raw entries
themselves: they inherit the raw entries from the parent (module globals set
only while the pool starts), so nothing large is pickled to them.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nacl.bindings
import nacl.exceptions

from crypto.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Domain, PublicKey
from votes.record.entries import (
    BallotEntry,
    Entry,
    PaperBallotEntry,
    ProxyBallotEntry,
    signed_entry_body,
)
from votes.record.verify.helpers import BallotKind
from votes.record.wire import FORMAT_VERSION, canonical

_BALLOT_PREFIX = Domain.BALLOT.value.encode() + b"\x00"

# What forked workers inherit (set only while the pool starts).
_RAW: Sequence[msgspec.Raw] = ()
_PAPER_KEY: PublicKey | None = None


@dataclass(slots=True)
class BallotWork:
    """Per-ballot work on some entries: leaf hashes and signature checks.

    ``bad`` holds the indices of ballot entries whose signature does not
    verify (member or paper-ballot service signature, or malformed hex);
    ``paper_errors`` the paper ballots whose signature is not hex, as
    (position, error message).
    """

    positions: list[int] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    member_signatures: int = 0
    paper_signatures: int = 0
    bad: list[int] = field(default_factory=list)
    paper_errors: list[tuple[int, str]] = field(default_factory=list)


def _ballot_work(entries: Iterable[tuple[int, Entry]], paper_key: PublicKey | None) -> BallotWork:
    """Leaf hashes and signature checks of the ballot entries among (position, entry) pairs."""
    work = BallotWork()
    positions, leaves, bad = work.positions, work.leaves, work.bad
    # The hot loop calls pynacl's binding and hashlib directly: the wrappers'
    # argument checks hold by construction here (the entry types fix the hex
    # lengths: 32-byte keys, 64-byte signatures; other lengths take the
    # wrapper), and their cost showed in the profile.
    sha256, encode, sign_open = hashlib.sha256, canonical, nacl.bindings.crypto_sign_open
    bad_signature = nacl.exceptions.BadSignatureError
    from_hex = bytes.fromhex
    prefix = _BALLOT_PREFIX
    for position, entry in entries:
        if type(entry) is BallotEntry or type(entry) is ProxyBallotEntry:
            positions.append(position)
            data = encode(entry)
            leaves.append(sha256(b"\x00" + data).digest())
            ballot = entry.ballot
            try:
                key, signature = from_hex(ballot.member), from_hex(entry.signature)
            except ValueError:
                bad.append(entry.index)
                continue
            work.member_signatures += 1
            message = prefix + (
                _ballot_slice(data) if type(entry) is BallotEntry else encode(ballot)
            )
            if len(key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
                if not PublicKey(key).verify_raw(message, signature):
                    bad.append(entry.index)
                continue
            try:
                sign_open(signature + message, key)
            except bad_signature:
                bad.append(entry.index)
        elif type(entry) is PaperBallotEntry:
            positions.append(position)
            leaves.append(sha256(b"\x00" + encode(entry)).digest())
            work.paper_signatures += 1
            try:
                signature = from_hex(entry.signature)
            except ValueError as exc:
                work.paper_errors.append((position, str(exc)))
                continue
            if paper_key is None or not paper_key.verify(
                Domain.PAPER_BALLOT, signed_entry_body(entry), signature
            ):
                bad.append(entry.index)
    return work


def _ballot_slice(data: bytes) -> bytes:
    """The ballot's canonical bytes inside its ballot entry's canonical bytes ``data``.

    ``data`` is ``{"ballot":`` + canonical(ballot) + ``,"index":…``: "ballot" and
    "index" are the entry's first keys in sorted order, and the fields after
    "index" are strings and integers. Inside a string every quote is escaped,
    so the bytes ``,"index":`` are always an object key; the ballot may hold
    one (a motion id), hence the last occurrence.
    """
    return data[10 : data.rindex(b',"index":')]


# Decodes only the ballot entry types: other entries fail at their "type" tag
# without being parsed further (the notice, with its roster, is tens of MB).
# A ballot entry decodes to the same object as with decode_entry.
_BALLOT_DECODER: msgspec.json.Decoder[BallotKind] = msgspec.json.Decoder(BallotKind)


def _decoded(bounds: tuple[int, int]) -> Iterator[tuple[int, Entry]]:
    """The ballot entries among the raw entries at positions [start, end)."""
    decode = _BALLOT_DECODER.decode
    for position in range(*bounds):
        try:
            entry = decode(_RAW[position])
        except (msgspec.DecodeError, ValueError):
            continue  # not a ballot entry, or check 2, in the main process, reports it
        if entry.v == FORMAT_VERSION:  # else decode_entry refuses it, and check 2 reports it
            yield position, entry


def _ballot_range(bounds: tuple[int, int]) -> BallotWork:
    """Worker: decode the raw entries at positions [start, end) and do their ballot work."""
    return _ballot_work(_decoded(bounds), _PAPER_KEY)


class BallotJob:
    """The per-ballot work of checks 2 and 10, started before the entries are checked.

    With ``workers`` > 1 (and the fork start method) forked processes decode
    chunks of the raw entries themselves and do the work while the main
    process runs the other checks; otherwise :meth:`result` does it on the
    entries the main process decoded.
    """

    def __init__(
        self, raw: Sequence[msgspec.Raw], *, paper_key: PublicKey | None, workers: int
    ) -> None:
        global _RAW, _PAPER_KEY  # inherited by the forked workers
        self._paper_key = paper_key
        self._pool: Any = None
        self._async: Any = None
        self._entries: Sequence[Entry] = ()
        workers = max(1, min(workers, os.cpu_count() or 1))
        count = len(raw)
        if workers > 1 and count >= 2000 and "fork" in multiprocessing.get_all_start_methods():
            # Several chunks per worker even out the load when other work shares the cores.
            step = -(-count // (workers * 4))
            ranges = [(start, min(start + step, count)) for start in range(0, count, step)]
            _RAW, _PAPER_KEY = raw, paper_key
            frozen = gc.isenabled()
            if frozen:
                gc.freeze()  # keep the children from copying the whole heap on their first gc
            try:
                self._pool = multiprocessing.get_context("fork").Pool(workers)
                self._async = self._pool.map_async(_ballot_range, ranges, chunksize=1)
            finally:
                if frozen:
                    gc.unfreeze()
                _RAW, _PAPER_KEY = (), None

    def use(self, entries: Sequence[Entry]) -> None:
        """The entries as decoded by the main process (the in-process work uses them)."""
        self._entries = entries

    def result(self) -> BallotWork:
        if self._async is None:
            return _ballot_work(enumerate(self._entries), self._paper_key)
        try:
            parts: list[BallotWork] = self._async.get()
        finally:
            self.close()
        total = BallotWork()
        for part in parts:
            total.positions.extend(part.positions)
            total.leaves.extend(part.leaves)
            total.member_signatures += part.member_signatures
            total.paper_signatures += part.paper_signatures
            total.bad.extend(part.bad)
            total.paper_errors.extend(part.paper_errors)
        return total

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
