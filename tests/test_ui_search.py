"""The search of the message lists: each filter finds what it should and nothing else, a
search that stops at its bound says so and goes on from there, paging keeps the search,
a field typed wrong is refused naming it, and a user finds only their own messages."""

from __future__ import annotations

import re
import time

import peewee
import pytest
from test_ui import Browser, site  # noqa: F401  the site fixture

from appliance.store.models import InboundMessage, MessageState, OutboundMessage, User
from appliance.store.queue import NewMessage, Queue
from appliance.web.ui import messages, search

DAY = 86400.0
START = time.mktime((2026, 3, 1, 12, 0, 0, 0, 0, -1))  # noon, local time, as the form is read


def _sent(database, name: str, rows: list[tuple[str, str, float]], state: str = MessageState.SENT) -> None:
    """Messages of ``name`` (recipient, text, created_at), stored in time order as the service stores them."""
    user = User.get(User.name == name).id
    Queue(database).accept([NewMessage(recipient, text, user_id=user) for recipient, text, _ in rows])
    stored = list(OutboundMessage.select().where(OutboundMessage.user == user).order_by(peewee.SQL("rowid").desc())
                  .limit(len(rows)))[::-1]
    for row, (_, _, at) in zip(stored, rows, strict=True):
        OutboundMessage.update(created_at=at, state=state).where(OutboundMessage.id == row.id).execute()


def _texts(page: str) -> list[str]:
    return re.findall(r'<p class="text">([^<]*)</p>', page)


def _older(page: str) -> str:
    match = re.search(r'<a href="([^"]+)">Older</a>', page)
    return match.group(1).replace("&amp;", "&") if match else ""


@pytest.fixture
def alice(site):  # noqa: F811
    browser = Browser(site)
    browser.login("alice")
    return browser


@pytest.fixture
def root(site):  # noqa: F811
    browser = Browser(site)
    browser.login("root")
    return browser


def test_a_number_is_found_however_it_is_typed(alice, database):
    _sent(database, "alice", [("+447700900123", "to the one", START), ("+447700900999", "to another", START + 1)])
    for typed in ("+44 7700 900123", "0044 7700-900.123", "447700900123", "07700 900123", "900123"):
        assert _texts(alice.get(f"/messages?number={typed.replace('+', '%2B')}").text) == ["to the one"], typed


def test_a_text_is_found_in_any_case_and_wildcards_are_literal(alice, database):
    _sent(database, "alice", [("+447700900123", "Your APPOINTMENT is at 9", START),
                              ("+447700900123", "nothing here", START + 1), ("+447700900123", "100% sure", START + 2),
                              ("+447700900123", "1000 sure", START + 3)])
    assert _texts(alice.get("/messages?text=appointment").text) == ["Your APPOINTMENT is at 9"]
    assert _texts(alice.get("/messages?text=0%25").text) == ["100% sure"]  # % is no wildcard


def test_a_state_is_found_queued_through_its_index(alice, database):
    _sent(database, "alice", [("+447700900123", "was sent", START)])
    _sent(database, "alice", [("+447700900123", "has failed", START + 1)], state=MessageState.FAILED)
    _sent(database, "alice", [("+447700900123", "still waits", START + 2)], state=MessageState.QUEUED)
    assert _texts(alice.get("/messages?state=failed").text) == ["has failed"]
    assert _texts(alice.get("/messages?state=queued").text) == ["still waits"]
    assert _texts(alice.get("/messages?state=queued&text=sent").text) == []


def test_a_time_range_is_found_by_the_rowid(alice, database):
    _sent(database, "alice", [("+447700900123", f"day {n}", START + n * DAY) for n in range(10)])
    assert _texts(alice.get("/messages?from=2026-03-04&to=2026-03-06").text) == ["day 5", "day 4", "day 3"]
    assert _texts(alice.get("/messages?from=2026-03-09T11:00").text) == ["day 9", "day 8"]
    assert _texts(alice.get("/messages?to=2026-03-01+12:00").text) == ["day 0"]  # to the end of that minute
    assert _texts(alice.get("/messages?from=2027-01-01").text) == []
    day_3 = OutboundMessage.select(peewee.SQL("rowid")).where(OutboundMessage.text == "day 3").scalar()
    assert messages.rowid_from(START + 3 * DAY) == messages.rowid_from(START + 2 * DAY + 1) == day_3


def test_the_received_list_is_searched_by_number_text_and_time(alice, database):
    for n, (originator, text) in enumerate([("+447700900123", "hello there"), ("+447700900999", "HELLO again"),
                                            ("+447700900999", "bye")]):
        InboundMessage.create(id=f"m{n}", gateway="GSM1", originator=originator, text=text, received_at=START + n * DAY)
    assert _texts(alice.get("/received?number=07700900123").text) == ["hello there"]
    assert _texts(alice.get("/received?text=hello").text) == ["HELLO again", "hello there"]
    assert _texts(alice.get("/received?from=2026-03-02&to=2026-03-03&number=999").text) == ["bye", "HELLO again"]
    assert _texts(alice.get("/received?to=2026-03-01").text) == ["hello there"]


def test_a_search_stops_at_its_bound_says_so_and_goes_on_from_there(alice, database, monkeypatch):
    monkeypatch.setattr(search, "SCAN", 5)
    rows = [("+447700900123", f"match {n}" if n in (1, 7) else f"other {n}", START + n) for n in range(15)]
    _sent(database, "alice", rows)
    first = alice.get("/messages?text=match").text  # reads 14..10: none
    assert _texts(first) == []
    assert "searched back to 2026-03-01 12:00:10; at most 10 more to search" in first
    second = alice.get(_older(first)).text  # 9..5
    assert _texts(second) == ["match 7"] and "at most 5 more to search" in second
    assert "text=match" in _older(second)
    third = alice.get(_older(second)).text  # 4..0: the last stretch
    assert _texts(third) == ["match 1"] and "searched back to" not in third and not _older(third)


def test_a_received_search_stops_at_its_bound_and_goes_on(alice, database, monkeypatch):
    monkeypatch.setattr(search, "SCAN", 3)
    for n in range(7):
        InboundMessage.create(id=f"m{n}", gateway="GSM1", originator="+447700900123",
                              text="needle" if n == 0 else f"hay {n}", received_at=START + n)
    page = alice.get("/received?text=needle").text
    assert _texts(page) == [] and "searched back to" in page
    while _older(page):
        page = alice.get(_older(page)).text
        if _texts(page):
            break
    assert _texts(page) == ["needle"]


def test_paging_keeps_the_search(alice, database):
    rows = [("+447700900123", f"match {n}", START + n) for n in range(messages.PAGE + 3)]
    _sent(database, "alice", [*rows, ("+447700900999", "not this one", START + 100)])
    first = alice.get("/messages?text=match&number=900123").text
    assert len(_texts(first)) == messages.PAGE
    older = _older(first)
    assert "text=match" in older and "number=900123" in older and "before=" in older
    second = _texts(alice.get(older).text)
    assert second == ["match 2", "match 1", "match 0"]
    assert 'value="match"' in first  # the form shows what was searched


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"), ("to=2026-13-01", "to"), ("state=lost", "state"), ("number=abc", "number"),
    ("from=2026-03-05&to=2026-03-04", "to"), (f"text={'x' * (search.MAX_TEXT + 1)}", "text"),
])
def test_a_field_typed_wrong_is_refused_naming_it(alice, query, field):
    for path in ("/messages", "/received"):
        if field == "state" and path == "/received":
            continue
        answer = alice.get(f"{path}?{query}")
        assert answer.status == 400, (path, query)
        assert f"{field}: " in answer.text, answer.text


def test_a_user_never_finds_anothers_messages(alice, root, database):
    _sent(database, "root", [("+447700900123", "secret of root", START)])
    _sent(database, "root", [("+447700900123", "queued secret of root", START + 1)], state=MessageState.QUEUED)
    _sent(database, "alice", [("+447700900123", "own of alice", START + 2)])
    for query in ("number=900123", "text=secret", "state=queued", "state=sent", "from=2026-03-01", "text=s"):
        assert _texts(alice.get(f"/messages?{query}").text) in ([], ["own of alice"]), query
    assert _texts(root.get("/messages?text=secret").text) == ["queued secret of root", "secret of root"]


def test_markup_searched_for_is_shown_as_text(alice):
    page = alice.get("/messages?text=%3Cscript%3Ealert(1)%3C/script%3E").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
