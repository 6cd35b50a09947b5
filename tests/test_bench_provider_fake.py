"""The provider benchmark's fake provider and its driver (bench/provider_fake.py,
bench/providers.py): what the benchmark's figures rest on, that every message driven
is counted once, apart per client, and only once its answer went out."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from bench.provider_fake import FakeProvider
from bench.providers import drive, numbers


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    provider = FakeProvider(latency_ms=200)
    yield provider
    provider.stop()


def build(recipients: list[str], text: str) -> tuple[str, str, bytes]:
    """Submit straight to the fake: one request per recipient, as a loop sends."""
    (recipient,) = recipients
    return "GET", "/loop/send?" + urllib.parse.urlencode({"to": recipient, "text": text}), b""


def test_every_message_driven_is_counted_once_per_client(fake: FakeProvider) -> None:
    recipients = numbers(50)
    seconds = drive(("127.0.0.1", fake.port), build, recipients, 1, 5)

    assert fake.counts("loop") == {"accepted": 50, "distinct": 50, "requests": 50}
    assert fake.counts("kannel") == {"accepted": 0, "distinct": 0, "requests": 0}
    assert seconds >= 10 * 0.2  # 50 answers, 5 at a time, each 200 ms late


def test_a_batch_counts_each_recipient_and_a_repeat_shows(fake: FakeProvider) -> None:
    form = urllib.parse.urlencode({"to": "447700900001,447700900002,447700900001", "idx": "a|b|c",
                                   "message": "hi"}).encode()
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(fake.url("batch", "sms.do"), data=form), timeout=10) as answer:
        body = json.load(answer)

    assert time.perf_counter() - start >= 0.2
    assert [item["idx"] for item in body["list"]] == ["a", "b", "c"]
    assert fake.counts("batch") == {"accepted": 3, "distinct": 2, "requests": 1}


def test_reset_forgets_the_counts(fake: FakeProvider) -> None:
    drive(("127.0.0.1", fake.port), build, numbers(3), 1, 1)
    fake.reset()

    assert fake.counts("loop") == {"accepted": 0, "distinct": 0, "requests": 0}
