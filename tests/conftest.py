"""Shared test fixtures."""

import pytest


class Clock:
    """A settable clock for the store's time stamps: tests move time, nothing sleeps."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
