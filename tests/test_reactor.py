"""The reactor: ordering, timers, cross-thread wake-ups, file descriptors and shutdown."""

import os
import threading
import time

import pytest

from appliance.reactor import Reactor


@pytest.fixture
def reactor():
    r = Reactor()
    yield r
    r.close()


def run_in_thread(reactor: Reactor) -> threading.Thread:
    thread = threading.Thread(target=reactor.run, daemon=True)
    thread.start()
    return thread


def test_call_soon_runs_in_fifo_order_and_callbacks_scheduled_later_wait_a_turn(reactor):
    seen = []

    def first():
        seen.append("first")
        reactor.call_soon(seen.append, "scheduled-by-first")

    reactor.call_soon(first)
    reactor.call_soon(seen.append, "second")
    reactor.call_later(0.01, reactor.stop)
    reactor.run()
    assert seen == ["first", "second", "scheduled-by-first"]


def test_timers_fire_in_deadline_order_not_insertion_order(reactor):
    seen = []
    now = reactor.time()
    reactor.call_at(now + 0.03, seen.append, "c")
    reactor.call_at(now + 0.01, seen.append, "a")
    reactor.call_at(now + 0.02, seen.append, "b")
    reactor.call_at(now + 0.02, seen.append, "b2")  # equal deadlines keep insertion order
    reactor.call_at(now + 0.04, reactor.stop)
    reactor.run()
    assert seen == ["a", "b", "b2", "c"]


def test_timer_never_fires_early_and_cancelled_timer_never_fires(reactor):
    fired = {}
    start = reactor.time()
    reactor.call_later(0.05, lambda: fired.setdefault("at", reactor.time()))
    cancelled = reactor.call_later(0.01, lambda: fired.setdefault("cancelled", True))
    cancelled.cancel()
    reactor.call_later(0.08, reactor.stop)
    reactor.run()
    assert "cancelled" not in fired
    assert fired["at"] - start >= 0.05


def test_callback_that_raises_is_logged_and_the_loop_goes_on(reactor, caplog):
    seen = []
    reactor.call_soon(lambda: 1 / 0)
    reactor.call_soon(seen.append, "after")
    reactor.call_soon(reactor.stop)
    reactor.run()
    assert seen == ["after"]
    assert "ZeroDivisionError" in caplog.text


def test_call_soon_threadsafe_wakes_a_reactor_blocked_without_timers(reactor):
    """With no timers the loop blocks in select() forever; only wake() can get it out."""
    done = threading.Event()
    thread = run_in_thread(reactor)
    time.sleep(0.05)  # let it block in select()
    sent = time.monotonic()
    delays = []

    def on_reactor():
        delays.append(time.monotonic() - sent)
        done.set()

    reactor.call_soon_threadsafe(on_reactor)
    assert done.wait(2.0), "the reactor was not woken"
    assert reactor.in_reactor_thread() is False
    reactor.stop()
    thread.join(2.0)
    assert not thread.is_alive()
    assert delays[0] < 1.0


def test_many_threads_hand_over_work_and_nothing_is_lost(reactor):
    counts = []
    thread = run_in_thread(reactor)

    def producer(n):
        for i in range(500):
            reactor.call_soon_threadsafe(counts.append, (n, i))

    producers = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    finished = threading.Event()
    reactor.call_soon_threadsafe(finished.set)
    assert finished.wait(5.0)
    reactor.stop()
    thread.join(2.0)
    assert len(counts) == 2000
    for n in range(4):  # per producer, order is preserved
        assert [i for m, i in counts if m == n] == list(range(500))


def test_readers_are_called_when_data_arrives_and_can_be_removed(reactor):
    r, w = os.pipe()
    received = []

    def on_readable():
        received.append(os.read(r, 100))
        if b"stop" in received[-1]:
            reactor.remove_reader(r)
            reactor.stop()

    reactor.add_reader(r, on_readable)
    reactor.call_later(0.01, os.write, w, b"hello")
    reactor.call_later(0.03, os.write, w, b"stop")
    reactor.run()
    assert received == [b"hello", b"stop"]
    os.close(r)
    os.close(w)


def test_writer_and_reader_on_the_same_fd_coexist(reactor):
    a, b = __import__("socket").socketpair()
    a.setblocking(False)
    events = []

    def on_writable():
        events.append("w")
        a.send(b"x")
        reactor.remove_writer(a.fileno())

    def on_readable():
        events.append(("r", a.recv(10)))
        reactor.stop()

    reactor.add_reader(a.fileno(), on_readable)
    reactor.add_writer(a.fileno(), on_writable)
    reactor.call_later(0.02, b.send, b"pong")
    reactor.run()
    assert events == ["w", ("r", b"pong")]
    assert b.recv(10) == b"x"
    a.close()
    b.close()


def test_stop_from_another_thread_returns_run_promptly(reactor):
    reactor.call_later(3600, lambda: None)  # a far timer must not keep it asleep
    thread = run_in_thread(reactor)
    time.sleep(0.02)
    reactor.stop()
    thread.join(2.0)
    assert not thread.is_alive()
    assert reactor.running is False
