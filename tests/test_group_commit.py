"""Group commit: concurrent callers share transactions, and one bad request fails alone."""

import threading
import time

from appliance.store.group_commit import GroupCommitter


def test_a_lone_caller_commits_at_once():
    written = []
    committer = GroupCommitter(lambda items: written.append(list(items)) or [i * 10 for i in items])
    assert committer.submit([1, 2]) == [10, 20]
    assert written == [[1, 2]] and (committer.commits, committer.items) == (1, 2)


def test_concurrent_callers_share_commits_and_each_gets_its_own_results():
    gate = threading.Event()
    batches = []

    def write(items):
        gate.wait(1.0)  # a slow disk: others pile up meanwhile
        batches.append(list(items))
        return [f"id-{i}" for i in items]

    committer = GroupCommitter(write)
    results = {}

    def caller(n):
        results[n] = committer.submit([n, n + 1000])

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert all(results[n] == [f"id-{n}", f"id-{n + 1000}"] for n in range(32))
    assert committer.items == 64
    assert committer.commits < 32  # at least some requests shared a transaction
    assert sorted(i for batch in batches for i in batch) == sorted(list(range(32)) + [n + 1000 for n in range(32)])


def test_one_failing_request_does_not_fail_the_others_in_its_group():
    gate = threading.Event()

    def write(items):
        gate.wait(1.0)
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
    gate.set()
    for t in threads:
        t.join(5)
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


class Caller:
    """A thread that submits when told to, like a client connection's thread."""

    def __init__(self, committer):
        self.committer, self.go, self.result = committer, threading.Event(), None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self):
        self.committer.submit(["warm"])  # seen submitting recently
        self.go.wait(5)
        self.result = self.committer.submit(["late"])


def test_the_writer_waits_for_a_recent_caller_so_that_they_share_its_commit():
    batches = []
    committer = GroupCommitter(lambda items: batches.append(list(items)) or list(items), gather=5.0, recent=10.0)
    other = Caller(committer)
    time.sleep(0.1)
    threading.Timer(0.2, other.go.set).start()  # comes back 0.2 s after this caller
    assert committer.submit(["now"]) == ["now"]
    other.thread.join(5)
    assert batches == [["warm"], ["now", "late"]] and other.result == ["late"]  # one commit for both


def test_the_wait_for_a_recent_caller_that_does_not_come_back_is_bounded():
    committer = GroupCommitter(lambda items: list(items), gather=0.05, recent=10.0)
    other = Caller(committer)
    time.sleep(0.1)
    started = time.monotonic()
    assert committer.submit(["now"]) == ["now"]
    assert time.monotonic() - started < 1
    other.go.set()
    other.thread.join(5)


def test_a_caller_seen_longer_ago_than_recent_is_not_waited_for():
    committer = GroupCommitter(lambda items: list(items), gather=5.0, recent=0.05)
    other = Caller(committer)
    time.sleep(0.2)
    started = time.monotonic()
    assert committer.submit(["now"]) == ["now"]
    assert time.monotonic() - started < 1
    committer.gather = 0.01  # the other one will wait for this caller, which does not come back
    other.go.set()
    other.thread.join(5)


def test_a_lone_caller_never_waits():
    committer = GroupCommitter(lambda items: list(items), gather=5.0, recent=10.0)
    started = time.monotonic()
    for n in range(3):
        assert committer.submit([n]) == [n]
    assert time.monotonic() - started < 1
