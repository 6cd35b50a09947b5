"""Group commit: concurrent callers share transactions, and one bad request fails alone."""

import threading
import time

from appliance.store.group_commit import GroupCommitter
from hil.waiting import DEADLINE, wait_for


def test_a_lone_caller_commits_at_once():
    written = []
    committer = GroupCommitter(lambda items: written.append(list(items)) or [i * 10 for i in items])
    assert committer.submit([1, 2]) == [10, 20]
    assert written == [[1, 2]] and (committer.commits, committer.items) == (1, 2)


def test_concurrent_callers_share_commits_and_each_gets_its_own_results():
    gate = threading.Event()
    batches = []

    def write(items):
        gate.wait(DEADLINE)  # a slow disk: others pile up meanwhile
        batches.append(list(items))
        return [f"id-{i}" for i in items]

    committer = GroupCommitter(write)
    results = {}

    def caller(n):
        results[n] = committer.submit([n, n + 1000])

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    wait_for(lambda: committer._inside == 32, what="every caller inside submit")  # they piled up
    gate.set()
    for t in threads:
        t.join(DEADLINE)
    assert all(results[n] == [f"id-{n}", f"id-{n + 1000}"] for n in range(32))
    assert committer.items == 64
    assert committer.commits < 32  # at least some requests shared a transaction
    assert sorted(i for batch in batches for i in batch) == sorted(list(range(32)) + [n + 1000 for n in range(32)])


def test_one_failing_request_does_not_fail_the_others_in_its_group():
    gate = threading.Event()

    def write(items):
        gate.wait(DEADLINE)
        if "bad" in items:
            raise ValueError("duplicate id")
        return list(items)

    committer = GroupCommitter(write)
    outcomes = {}

    def caller(name):
        try:
            outcomes[name] = committer.submit([name])
        except ValueError as error:
            outcomes[name] = str(error)

    threads = [threading.Thread(target=caller, args=(name,)) for name in ("a", "bad", "c", "d")]
    for t in threads:
        t.start()
    wait_for(lambda: committer._inside == 4, what="every caller inside submit")  # one group
    gate.set()
    for t in threads:
        t.join(DEADLINE)
    assert outcomes == {"a": ["a"], "bad": "duplicate id", "c": ["c"], "d": ["d"]}


def test_callers_in_a_steady_stream_are_all_answered_by_whoever_writes_next():
    committer = GroupCommitter(lambda items: [i * 2 for i in items])
    wrong = []

    def caller(n):
        for k in range(300):
            item = n * 1000 + k
            if committer.submit([item]) != [item * 2]:
                wrong.append(item)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)  # nobody was left waiting for a writer
    assert wrong == [] and committer.items == 2400


def busy_together(committer):
    """Two callers inside submit at once: the commit of the first holds the second."""
    release, writing = threading.Event(), threading.Event()
    write, gather = committer._write, committer.gather
    committer.gather = 0.01  # the second, writing next, would wait for a third

    def slow(items):
        writing.set()
        release.wait(DEADLINE)
        return write(items)
    committer._write = slow
    first = threading.Thread(target=committer.submit, args=(["a"],))
    first.start()
    wait_for(writing.is_set, what="the first caller writing")
    second = threading.Thread(target=committer.submit, args=(["b"],))
    second.start()
    wait_for(lambda: committer._inside == 2, what="the second caller inside submit")
    release.set()
    first.join(DEADLINE)
    second.join(DEADLINE)
    committer._write, committer.gather = write, gather


def test_after_two_callers_at_once_the_writer_waits_for_the_second_so_that_they_share_a_commit():
    batches = []
    committer = GroupCommitter(lambda items: batches.append(list(items)) or list(items), gather=DEADLINE,
                               recent=DEADLINE)
    busy_together(committer)
    late = threading.Timer(0.2, committer.submit, args=(["late"],))  # comes back 0.2 s after this caller
    late.start()
    assert committer.submit(["now"]) == ["now"]
    late.join(DEADLINE)
    assert batches[-1] == ["now", "late"]  # one commit for both


def test_the_wait_for_a_caller_that_does_not_come_back_is_bounded():
    committer = GroupCommitter(list, gather=0.05, recent=10.0)
    busy_together(committer)
    started = time.monotonic()
    assert committer.submit(["now"]) == ["now"]
    assert time.monotonic() - started < 10  # its gather, not for ever: a busy machine adds some


def test_callers_together_longer_ago_than_recent_are_not_waited_for():
    committer = GroupCommitter(list, gather=5.0, recent=0.05)
    busy_together(committer)
    time.sleep(0.2)  # longer than recent: they were together longer ago
    started = time.monotonic()
    assert committer.submit(["now"]) == ["now"]
    assert time.monotonic() - started < committer.gather  # it did not wait for a second caller


def test_one_caller_after_another_never_waits_whatever_the_threads():
    committer = GroupCommitter(list, gather=5.0, recent=10.0)
    started = time.monotonic()
    for n in range(5):  # a client that opens a new connection per request: a new thread each time
        thread = threading.Thread(target=committer.submit, args=([n],))
        thread.start()
        thread.join(DEADLINE)
    assert time.monotonic() - started < committer.gather  # not even one caller waited
