"""HTTP/1.1 on the wire: reading a request's head and body into a WSGI environ, and
writing the answer's head. Pure functions over bytes, so every refusal is tested alone.

Only what an SMS API's clients send is accepted (RFC 9112): a request line, header
fields, and a body given by Content-Length or chunked. Anything ambiguous — both
Content-Length and Transfer-Encoding, two different lengths, a malformed chunk — is
refused with 400 and the connection closed, because a proxy in front could read the
same bytes differently (request smuggling).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

MAX_HEAD = 64 * 1024          # request line and header fields together
# above the JSON API's own limit (1 MiB), which then answers in its format; held in
# memory, so 64 connections hold at most 128 MiB
MAX_BODY = 2 * 1024 * 1024
REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
           505: "HTTP Version Not Supported"}


class HttpError(Exception):
    """A request the server refuses before the app sees it; the connection is closed after
    the answer, since what follows on it cannot be trusted to start a request."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> bytes:
        body = f"{self.status} {REASONS[self.status]}: {self.reason}\r\n".encode()
        return (f"HTTP/1.1 {self.status} {REASONS[self.status]}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class Head:
    """A parsed request head: the environ without its body, and how to read the body."""

    __slots__ = ("chunked", "environ", "expects_continue", "keep_alive", "length")

    def __init__(self, environ: dict, keep_alive: bool, length: int, chunked: bool,
                 expects_continue: bool) -> None:
        self.environ = environ
        self.keep_alive = keep_alive
        self.length = length
        self.chunked = chunked
        self.expects_continue = expects_continue


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_TARGET_BAD = re.compile(rb"[\x00-\x20\x7f]")
_VALUE_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than tab


def parse_head(raw: bytes, base: dict) -> Head:
    """``raw``: the bytes before the blank line; ``base``: the environ keys every request
    on this connection shares (addresses, scheme, the WSGI constants)."""
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "the request line is not METHOD TARGET HTTP/1.x")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version.startswith(b"HTTP/"):
            raise HttpError(505, f"{version.decode('latin-1')} is not spoken here; use HTTP/1.1")
        raise HttpError(400, "the request line is not METHOD TARGET HTTP/1.x")
    if not _TOKEN.match(method):
        raise HttpError(400, "the method is not a token")
    if target.startswith((b"http://", b"https://")):  # absolute form: the path is what counts
        slash = target.find(b"/", target.index(b"//") + 2)
        target = target[slash:] if slash >= 0 else b"/"
    if not target.startswith(b"/") or _TARGET_BAD.search(target):
        raise HttpError(400, "the request target is not a path")
    path, _, query = target.partition(b"?")
    environ = dict(base)
    environ["REQUEST_METHOD"] = method.decode("ascii")
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")  # PEP 3333: bytes as latin-1
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["SERVER_PROTOCOL"] = version.decode("ascii")
    connection = b""
    lengths: set[bytes] = set()
    transfer = b""
    expects_continue = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise HttpError(400, "a header line is not NAME: VALUE")
        value = value.strip(b" \t")
        if _VALUE_BAD.search(value):
            raise HttpError(400, f"the header {name.decode('ascii')} holds a control character")
        lower = name.lower()
        if lower == b"content-length":
            lengths.update(v.strip() for v in value.split(b","))
            continue
        if lower == b"transfer-encoding":
            transfer = (transfer + b"," + value if transfer else value).lower()
            continue
        if lower == b"connection":
            connection = (connection + b"," + value if connection else value).lower()
        elif lower == b"expect":
            expects_continue = value.lower() == b"100-continue"
        elif b"_" in name:  # X_Forwarded_For would pass for X-Forwarded-For in the environ
            continue
        key = "CONTENT_TYPE" if lower == b"content-type" else \
            "HTTP_" + name.decode("ascii").upper().replace("-", "_")
        text = value.decode("latin-1")
        environ[key] = environ[key] + ", " + text if key in environ else text
    options = {o.strip() for o in connection.split(b",")}
    keep_alive = b"close" not in options and (version == b"HTTP/1.1" or b"keep-alive" in options)
    chunked = False
    length = 0
    if transfer:
        if lengths:
            raise HttpError(400, "both Content-Length and Transfer-Encoding are given")
        if version != b"HTTP/1.1" or transfer.replace(b" ", b"") != b"chunked":
            raise HttpError(501, "the only transfer coding understood is chunked, alone")
        chunked = True
    elif lengths:
        (given,) = lengths if len(lengths) == 1 else (b"",)
        if not given.isdigit():
            raise HttpError(400, "Content-Length is not one decimal number")
        length = int(given) if len(given) < 16 else MAX_BODY + 1
        if length > MAX_BODY:
            raise HttpError(413, f"the body is {length} bytes; at most {MAX_BODY} are accepted")
        environ["CONTENT_LENGTH"] = str(length)
    return Head(environ, keep_alive, length, chunked, expects_continue)


def read_chunked(read_line: Callable[[], bytes], read_exactly: Callable[[int], bytes]) -> bytes:
    """The body of a chunked request, trailers read and dropped. ``read_line`` returns one
    line without its CRLF; ``read_exactly`` the next n bytes."""
    body = bytearray()
    while True:
        size_field = read_line().split(b";", 1)[0].strip()
        try:
            if not size_field or any(c not in b"0123456789abcdefABCDEF" for c in size_field):
                raise ValueError
            size = int(size_field, 16)
        except ValueError:
            raise HttpError(400, "a chunk's size is not a hexadecimal number") from None
        if size == 0:
            while read_line():  # trailer fields, then the blank line
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise HttpError(413, f"the body is larger than {MAX_BODY} bytes")
        body += read_exactly(size)
        if read_exactly(2) != b"\r\n":
            raise HttpError(400, "a chunk does not end with CRLF")


def response_head(status: str, headers: list[tuple[str, str]], *, length: int | None,
                  connection: str | None) -> bytes:
    """The status line and header fields of an answer. The server frames the body itself:
    ``length`` (None: the app's Content-Length, if any, stays, as for HEAD) and the
    ``Connection`` field replace what the app gave."""
    lines = [f"HTTP/1.1 {status}"]
    for name, value in headers:
        lower = name.lower()
        if lower in ("connection", "transfer-encoding") or (lower == "content-length" and length is not None):
            continue
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def base_environ(server_name: str, server_port: int, client: tuple, scheme: str) -> dict:
    """What every request on one connection shares."""
    return {"SCRIPT_NAME": "", "SERVER_NAME": server_name, "SERVER_PORT": str(server_port),
            "REMOTE_ADDR": str(client[0]), "REMOTE_PORT": str(client[1]), "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme, "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.input_terminated": True}
