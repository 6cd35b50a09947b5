"""Login throttling: growing locks per address and per name, on a fake clock."""

import threading

from appliance.accounts.throttle import Backoff, LoginThrottle


def test_the_lock_starts_after_max_failures_and_doubles_up_to_the_cap(clock):
    backoff = Backoff(max_failures=3, window=600, first_backoff=1, max_backoff=5, clock=clock)
    for _ in range(2):
        backoff.failure("a")
    assert not backoff.locked("a")
    backoff.failure("a")
    locks = []
    for _ in range(5):
        assert backoff.locked("a")
        start = clock.now
        while backoff.locked("a"):
            clock.now += 0.25
        locks.append(clock.now - start)
        backoff.failure("a")  # the next guess as soon as the lock ends
    assert locks == [1, 2, 4, 5, 5]


def test_failures_while_locked_neither_count_nor_lengthen_the_lock(clock):
    backoff = Backoff(max_failures=2, first_backoff=10, clock=clock)
    backoff.failure("a")
    backoff.failure("a")
    for _ in range(1000):
        backoff.failure("a")
    clock.now += 10
    assert not backoff.locked("a")
    backoff.failure("a")
    assert backoff.locked("a")
    clock.now += 19.5
    assert backoff.locked("a")  # the second lock is 20 s, not 1000 locks later
    clock.now += 0.5
    assert not backoff.locked("a")


def test_a_quiet_window_forgets_and_a_success_resets(clock):
    backoff = Backoff(max_failures=3, window=60, clock=clock)
    backoff.failure("a")
    backoff.failure("a")
    clock.now += 61
    backoff.failure("a")
    assert not backoff.locked("a")  # the two old failures were forgotten
    backoff.failure("a")
    backoff.success("a")
    backoff.failure("a")
    assert not backoff.locked("a")
    assert not backoff.locked("b")  # keys are separate


def test_memory_stays_bounded(clock):
    backoff = Backoff(max_failures=1, max_entries=100, clock=clock)
    for n in range(10_000):
        backoff.failure(f"10.0.{n // 256}.{n % 256}")
    assert len(backoff) <= 100
    assert backoff.locked("10.0.39.15")  # the newest are kept


def test_concurrent_failures_are_all_counted(clock):
    backoff = Backoff(max_failures=4000, clock=clock)
    threads = [threading.Thread(target=lambda: [backoff.failure("a") for _ in range(1000)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backoff.locked("a")


def test_a_locked_name_still_admits_the_address_that_logged_in_before(clock):
    throttle = LoginThrottle(by_name=Backoff(max_failures=3, clock=clock), clock=clock)
    throttle.succeeded("alice", "10.0.0.1")
    for n in range(3):  # distributed guessing: one failure from each of many addresses
        throttle.failed("alice", f"192.0.2.{n}")
    assert not throttle.admit("alice", "192.0.2.99")
    assert throttle.admit("alice", "10.0.0.1")
    assert throttle.admit("bob", "192.0.2.99")


def test_refusals_for_a_locked_name_lock_the_guessing_address_too(clock):
    throttle = LoginThrottle(by_address=Backoff(max_failures=5, clock=clock),
                             by_name=Backoff(max_failures=1, first_backoff=300, clock=clock), clock=clock)
    throttle.failed("alice", "192.0.2.1")
    for _ in range(4):
        assert not throttle.admit("alice", "192.0.2.7")
    assert throttle.admit("bob", "192.0.2.7")
    assert not throttle.admit("alice", "192.0.2.7")
    assert not throttle.admit("bob", "192.0.2.7")  # five refusals: the address is locked


def test_trust_expires(clock):
    throttle = LoginThrottle(by_name=Backoff(max_failures=1, first_backoff=300, window=10**9, clock=clock),
                             trust_for=100, clock=clock)
    throttle.succeeded("alice", "10.0.0.1")
    clock.now += 101
    throttle.failed("alice", "192.0.2.1")
    assert not throttle.admit("alice", "10.0.0.1")
