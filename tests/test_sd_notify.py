"""The systemd notify protocol, spoken to a socket that stands in for systemd."""

import os
import socket
import threading

import pytest

from appliance.platform.sd_notify import Notifier


@pytest.fixture
def systemd(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


def test_ready_watchdog_and_stopping_reach_the_socket(systemd):
    sock, path = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
    assert notifier.enabled and notifier.watchdog_interval == 30.0
    assert notifier.ready("listening")
    assert sock.recv(1024) == b"READY=1\nSTATUS=listening"
    assert notifier.watchdog()
    assert sock.recv(1024) == b"WATCHDOG=1"
    assert notifier.stopping()
    assert sock.recv(1024) == b"STOPPING=1"
    notifier.close()


def test_abstract_socket_names_are_supported():
    name = f"sms-appliance-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    assert notifier.ready()
    assert sock.recv(1024) == b"READY=1"
    notifier.close()
    sock.close()


def test_outside_systemd_everything_is_a_no_op():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    assert notifier.ready() is False and notifier.watchdog() is False


def test_watchdog_meant_for_another_process_is_ignored(systemd):
    _, path = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert notifier.watchdog_interval is None
    notifier.close()


def test_a_vanished_socket_is_survived(tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.ready() is False
    notifier.close()


def test_a_listener_that_stopped_reading_never_blocks_the_sender(systemd):
    # the event loop notifies: a full socket must cost a dropped message, not a stall
    listener, path = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path})
    done = threading.Event()

    def flood():
        for _ in range(10_000):  # far more than a datagram socket queues unread
            notifier.watchdog()
        done.set()
    threading.Thread(target=flood, daemon=True).start()
    assert done.wait(10)
    assert notifier.watchdog() is False  # still full: dropped, said so
    listener.recv(4096)
    assert notifier.watchdog() is True   # read once: room again
