"""An independent RFC 9162 §2.1.1 Merkle Tree Hash, straight from the definition.

Used as the oracle for roots computed by the database log (which goes through
crypto.merkle's frontier and stored nodes instead).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def mth(entries: Sequence[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()
