"""The HTTP server's socket files (appliance/web/socket_files.py): cheroot's interface over
C's buffered reader, and an answer's head that waits for its body."""

import socket

import pytest

from appliance.web.socket_files import Reader, Writer, open_file


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def test_the_reader_counts_what_is_taken_and_knows_what_is_buffered(pair):
    ours, theirs = pair
    reader = Reader(ours)
    assert not reader.has_data() and reader.bytes_read == 0
    theirs.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody!")
    assert reader.readline() == b"GET / HTTP/1.1\r\n"
    assert reader.has_data()  # the rest came in the same read
    assert reader.readline(4) == b"Host"
    buffer = bytearray(5)
    assert reader.readinto(buffer) == 5 and bytes(buffer) == b": x\r\n"
    assert reader.read(2) == b"\r\n"
    assert reader.read1(10) == b"body!"
    assert reader.bytes_read == len(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody!")
    assert not reader.has_data()  # drained: the next read would wait for the socket


def test_iterating_the_reader_counts_each_line(pair):
    ours, theirs = pair
    reader = Reader(ours)
    theirs.sendall(b"one\ntwo\nthree\n")
    theirs.shutdown(socket.SHUT_WR)
    assert next(reader) == b"one\n" and reader.bytes_read == 4
    assert reader.readlines() == [b"two\n", b"three\n"]
    assert reader.bytes_read == 14 and not reader.has_data()


def test_a_held_head_leaves_with_the_body_in_one_piece(pair):
    ours, theirs = pair
    writer = Writer(ours)
    writer.hold = True
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    writer.hold = False
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)  # nothing sent yet
    writer.write(b"hello")
    theirs.setblocking(True)
    theirs.settimeout(5)
    assert theirs.recv(100) == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert writer.bytes_written == 43


def test_a_held_head_without_a_body_leaves_at_flush(pair):
    ours, theirs = pair
    writer = open_file(ours, "wb")
    writer.hold = True
    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    writer.hold = False
    writer.flush()
    theirs.settimeout(5)
    assert theirs.recv(100) == b"HTTP/1.1 204 No Content\r\n\r\n"
    assert isinstance(open_file(ours, "rb"), Reader)
