"""The demo officer's signing key, for web tests that sign as the officer's device would."""

from __future__ import annotations

import base64
from typing import Any

from crypto.signing import SigningKey


def demo_officer_key(demo: Any) -> SigningKey:
    """The demo officer's Ed25519 key, from the C2SP private key string the demo prints."""
    seed = base64.b64decode(demo.officer_private_key.split("+", 4)[4])[1:]
    return SigningKey.from_seed(seed)
