"""RFC 9162 (RFC 6962) Merkle tree log: hashing, proofs, verification, storage.

Hashing (RFC 9162 §2.1.1): ``leaf_hash(d) = SHA-256(0x00 || d)``,
``node_hash(l, r) = SHA-256(0x01 || l || r)``, and the root of the empty log is
``SHA-256("")`` (:data:`EMPTY_ROOT`).

Storage model.  A node is named ``(level, index)`` (:data:`NodeId`): the root of
the *perfect* subtree over leaves ``[index << level, (index + 1) << level)``;
level 0 holds the leaf hashes.  Perfect nodes never change once the log has
grown past them, so they are written once (``put_many``) and read by id
(``get_many``).  Every root, inclusion proof and consistency proof of RFC 9162
is a short list of hashes each of which is a right-fold of O(log n) perfect
nodes.  A *plan* (:func:`inclusion_plan`, :func:`consistency_plan`,
:func:`root_plan`) lists those nodes without doing any I/O, so an async
database can fetch all of them in one query (e.g. a SQL table keyed by
``(level, index)``) and then :meth:`ProofPlan.assemble` the proof.

:class:`Frontier` is the compact right edge of a log (the perfect subtrees of
the binary decomposition of its size): enough to append and to compute the
current root with O(log n) state.

Verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.  Every
hash, root and proof node must be exactly 32 bytes.

Size-0 consistency: an empty log is trivially a prefix of every log, so there
is nothing to prove and no proof can bind anything; like transparency-dev,
:func:`verify_consistency` *refuses* ``size1 == 0`` (even with ``size2 == 0``)
and :func:`consistency_plan` refuses it too.  A caller that wants the C2SP
witness behaviour (accept any checkpoint extending an empty one) must special-case
``old size == 0`` itself *before* calling, explicitly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, Self

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "MemoryNodeStore",
    "MerkleLog",
    "MissingNodeError",
    "NodeId",
    "NodeStore",
    "ProofError",
    "ProofPlan",
    "RootPlan",
    "consistency_plan",
    "inclusion_plan",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
NodeId = tuple[int, int]
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof does not verify, or its inputs (sizes, indices, hashes) are invalid."""


class MissingNodeError(LookupError):
    """A node store lacks a node that a plan needs (a storage fault, not a bad proof)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes, got {type(value).__name__}")
    raw = bytes(value)
    if len(raw) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(raw)}")
    return raw


def _check_count(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _largest_power_below(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> tuple[NodeId, ...]:
    """Perfect nodes, left to right, whose right-fold is ``MTH(D[start:end])``.

    Valid for every range produced by RFC 9162's recursive split of a tree
    (``start`` is a multiple of the largest power of two <= ``end - start``):
    the binary decomposition of the range's length, largest subtree first.
    """
    if not 0 <= start < end:
        raise ProofError(f"empty or invalid leaf range [{start}, {end})")
    nodes: list[NodeId] = []
    position = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        width = 1 << level
        if position % width:
            raise ProofError(f"leaf range [{start}, {end}) is not a subtree of any tree")
        nodes.append((level, position >> level))
        position += width
        remaining -= width
    return tuple(nodes)


def _fold(hashes: Sequence[bytes]) -> bytes:
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _lookup(hashes: Mapping[NodeId, bytes], node: NodeId) -> bytes:
    try:
        return hashes[node]
    except KeyError:
        raise MissingNodeError(f"node (level {node[0]}, index {node[1]}) is missing") from None


def _unique(groups: Iterable[tuple[NodeId, ...]]) -> tuple[NodeId, ...]:
    return tuple(dict.fromkeys(node for group in groups for node in group))


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """The perfect nodes a proof needs, and how to combine them (no I/O).

    ``nodes`` lists each needed node once; ``groups[i]`` is the left-to-right
    list of nodes whose right-fold is proof element ``i``.
    """

    groups: tuple[tuple[NodeId, ...], ...]
    nodes: tuple[NodeId, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", _unique(self.groups))

    def assemble(self, hashes: Mapping[NodeId, bytes]) -> list[bytes]:
        """Build the proof from fetched node hashes (raises :class:`MissingNodeError`)."""
        return [_fold([_lookup(hashes, node) for node in group]) for group in self.groups]


@dataclass(frozen=True, slots=True)
class RootPlan:
    """The perfect nodes whose right-fold is the root of a tree of some size."""

    size: int
    nodes: tuple[NodeId, ...]

    def assemble(self, hashes: Mapping[NodeId, bytes]) -> bytes:
        """Return the root hash (``EMPTY_ROOT`` for size 0)."""
        if not self.nodes:
            return EMPTY_ROOT
        return _fold([_lookup(hashes, node) for node in self.nodes])


def root_plan(size: int) -> RootPlan:
    """Plan to compute the root of the first ``size`` leaves."""
    _check_count(size, "size")
    return RootPlan(size=size, nodes=range_nodes(0, size) if size else ())


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan for the RFC 9162 inclusion proof of leaf ``index`` in a tree of ``size``."""
    _check_count(index, "index")
    _check_count(size, "size")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    # Walk down RFC 9162 PATH(m, D[lo:hi]); siblings are collected top-down.
    siblings: list[tuple[NodeId, ...]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_below(hi - lo)
        if index < lo + k:
            siblings.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            siblings.append(range_nodes(lo, lo + k))
            lo += k
    return ProofPlan(groups=tuple(reversed(siblings)))


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Plan for the RFC 9162 consistency proof between sizes ``0 < size1 <= size2``."""
    _check_count(size1, "size1")
    _check_count(size2, "size2")
    if size1 == 0:
        raise ProofError("no consistency proof from size 0 (an empty log proves nothing)")
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}")
    # RFC 9162 SUBPROOF(m, D[lo:hi], b), unrolled; elements collected top-down.
    elements: list[tuple[NodeId, ...]] = []
    lo, hi, m, complete = 0, size2, size1, True
    while m != hi - lo:
        k = _largest_power_below(hi - lo)
        if m <= k:
            elements.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            elements.append(range_nodes(lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        elements.append(range_nodes(lo, hi))
    return ProofPlan(groups=tuple(reversed(elements)))


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an RFC 9162 inclusion proof; raise :class:`ProofError` if it fails."""
    leaf = _check_hash(leaf_hash, "leaf hash")
    expected = _check_hash(root, "root")
    _check_count(index, "index")
    _check_count(size, "size")
    path = [_check_hash(node, f"proof[{i}]") for i, node in enumerate(proof)]
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, result = index, size - 1, leaf
    for node in path:
        if sn == 0:
            raise ProofError(f"inclusion proof has too many elements ({len(path)})")
        if fn & 1 or fn == sn:
            result = node_hash(node, result)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof has too few elements ({len(path)})")
    if result != expected:
        raise ProofError(f"inclusion proof for index {index} does not lead to the root")


def verify_consistency(
    *, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check an RFC 9162 consistency proof; raise :class:`ProofError` if it fails.

    ``size1 == 0`` is refused (see the module docstring).
    """
    first = _check_hash(root1, "root1")
    second = _check_hash(root2, "root2")
    _check_count(size1, "size1")
    _check_count(size2, "size2")
    path = [_check_hash(node, f"proof[{i}]") for i, node in enumerate(proof)]
    if size1 > size2:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == 0:
        raise ProofError("consistency from size 0 is not verifiable; handle it before calling")
    if size1 == size2:
        if path:
            raise ProofError(f"sizes are equal but the proof has {len(path)} elements")
        if first != second:
            raise ProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    if not path:
        raise ProofError(f"empty consistency proof for sizes {size1} < {size2}")
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path = [first, *path]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof has too many elements ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof has too few elements ({len(proof)})")
    if fr != first:
        raise ProofError(f"consistency proof does not lead to root1 (size {size1})")
    if sr != second:
        raise ProofError(f"consistency proof does not lead to root2 (size {size2})")


@dataclass(frozen=True, slots=True)
class Frontier:
    """The compact right edge of a log: one hash per set bit of ``size``.

    ``hashes`` are the roots of the perfect subtrees of the binary decomposition
    of ``size``, largest (leftmost) first; their ids are :meth:`node_ids`.
    """

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        _check_count(self.size, "size")
        if len(self.hashes) != self.size.bit_count():
            raise ProofError(
                f"a frontier of size {self.size} needs {self.size.bit_count()} hashes, "
                f"got {len(self.hashes)}"
            )
        for position, value in enumerate(self.hashes):
            _check_hash(value, f"frontier hash {position}")

    @classmethod
    def from_list(cls, size: int, hashes: Sequence[bytes]) -> Self:
        return cls(size=size, hashes=tuple(bytes(value) for value in hashes))

    def to_list(self) -> list[bytes]:
        return list(self.hashes)

    def node_ids(self) -> tuple[NodeId, ...]:
        """Ids of :attr:`hashes` (equal to ``root_plan(size).nodes``)."""
        return range_nodes(0, self.size) if self.size else ()

    def root(self) -> bytes:
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT

    def append(self, leaf: bytes) -> tuple[Frontier, list[tuple[NodeId, bytes]]]:
        """Add a leaf hash; return the new frontier and the perfect nodes it completes."""
        current = _check_hash(leaf, "leaf hash")
        index = self.size
        stack = list(self.hashes)
        created: list[tuple[NodeId, bytes]] = [((0, index), current)]
        level = 0
        # Each trailing 1 bit of the old size is a perfect subtree now completed on its right.
        while (index >> level) & 1:
            current = node_hash(stack.pop(), current)
            level += 1
            created.append(((level, index >> level), current))
        stack.append(current)
        return Frontier(size=index + 1, hashes=tuple(stack)), created


class NodeStore(Protocol):
    """Storage of perfect-subtree hashes by :data:`NodeId`."""

    def get_many(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        """Return the stored hashes among ``ids`` (missing ids are simply absent)."""
        ...

    def put_many(self, items: Iterable[tuple[NodeId, bytes]]) -> None:
        """Store node hashes (idempotent for equal values)."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` in a dict (tests, offline verification, benchmarks)."""

    def __init__(self) -> None:
        self._nodes: dict[NodeId, bytes] = {}
        self.reads = 0

    def get_many(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        self.reads += len(ids)
        nodes = self._nodes
        return {node: nodes[node] for node in ids if node in nodes}

    def put_many(self, items: Iterable[tuple[NodeId, bytes]]) -> None:
        self._nodes.update(items)

    def __len__(self) -> int:
        return len(self._nodes)


class MerkleLog:
    """An append-only log over a :class:`NodeStore` (synchronous convenience).

    The server's async storage uses the plans directly; this class is the
    reference composition of Frontier + plans + store.
    """

    def __init__(self, store: NodeStore, frontier: Frontier | None = None) -> None:
        self._store = store
        self._frontier = frontier if frontier is not None else Frontier()

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def append(self, data: bytes) -> int:
        """Append an entry; return its 0-based index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, leaf: bytes) -> int:
        frontier, created = self._frontier.append(leaf)
        self._store.put_many(created)
        self._frontier = frontier
        return frontier.size - 1

    def extend(self, entries: Iterable[bytes]) -> int:
        """Append many entries, writing nodes in one batch; return the new size."""
        frontier = self._frontier
        created: list[tuple[NodeId, bytes]] = []
        for data in entries:
            frontier, nodes = frontier.append(leaf_hash(data))
            created.extend(nodes)
        self._store.put_many(created)
        self._frontier = frontier
        return frontier.size

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        _check_count(size, "size")
        if size > self.size:
            raise ProofError(f"size {size} is beyond the log's size {self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        wanted = self._size(size)
        if wanted == self.size:
            return self._frontier.root()
        plan = root_plan(wanted)
        return plan.assemble(self._store.get_many(plan.nodes))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        plan = inclusion_plan(index, self._size(size))
        return plan.assemble(self._store.get_many(plan.nodes))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        plan = consistency_plan(size1, self._size(size2))
        return plan.assemble(self._store.get_many(plan.nodes))
