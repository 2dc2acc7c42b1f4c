"""Shared fixtures: a small simulated meeting (built once per session)."""

from __future__ import annotations

import pytest

from votes.record.simulate import Simulation, simulate


@pytest.fixture(scope="session")
def sim() -> Simulation:
    return simulate(members=40, motions=5, seed=11)
