"""What every request passes before any route runs: the names the appliance answers to,
no state change by HEAD or from another site's page, and the size of a /http form.

Why a hook rather than checks in each command: these refusals must cost nothing, happen
before a body is parsed (a 2 MiB form of 300,000 empty fields took hundreds of MB to
parse), and hold for every command alike, whatever the command's own reply format.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import bottle

from ..config.file import HttpConfig
from .diafaan.common import AUTHENTICATION_ERROR, ApiError

_DEFAULT = HttpConfig()
HTTP_API = "/http/"
# a browser says where a request comes from; a cross-site one is some other page's doing
_FOREIGN_SITES = ("cross-site", "same-site")

# checks a user name and password (and the client's address, for the throttle)
CredentialCheck = Callable[[str, str, str | None], bool]


def default_hostnames() -> frozenset[str]:
    """The names this machine answers to unless ``[http] hostnames`` says otherwise: its
    host name, its ``.local`` (mDNS) name and localhost. IP literals are always accepted."""
    name = socket.gethostname().lower()
    short = name.split(".")[0]
    return frozenset({name, short, f"{short}.local", "localhost"})


@dataclass(frozen=True)
class Guard:
    """The limits a request is held to before it reaches a route.

    ``hostnames``: the Host header's accepted names (IP literals always pass): a page a
    browser loaded from another name must not reach the API by rebinding that name to
    this address. ``max_form`` bytes and ``max_form_fields`` fields: the most a /http
    form may hold. ``check_credentials``: when the query string names the user, the
    credentials are checked before the body is read at all.
    """

    hostnames: frozenset[str] = field(default_factory=default_hostnames)
    max_form: int = _DEFAULT.max_form
    max_form_fields: int = _DEFAULT.max_form_fields
    check_credentials: CredentialCheck | None = None

    @classmethod
    def from_config(cls, http: HttpConfig, check_credentials: CredentialCheck | None = None) -> Guard:
        names = hostnames_of(http.hostnames) if http.hostnames else default_hostnames()
        return cls(names, http.max_form, http.max_form_fields, check_credentials)

    def install(self, app: bottle.Bottle) -> None:
        app.add_hook("before_request", self.check)

    def check(self) -> None:
        """Raises the answer (an HTTPResponse) for a request refused; returns otherwise."""
        request = bottle.request
        self._check_host(request.environ.get("HTTP_HOST"))
        if not request.path.startswith(HTTP_API):
            return
        if request.method == "HEAD":
            raise _refuse(405, "HEAD is not answered on /http commands: they may change state; "
                               "use GET or POST", Allow="GET, POST")
        if request.get_header("Sec-Fetch-Site", "").lower() in _FOREIGN_SITES:
            raise _refuse(403, "a page of another site may not call /http commands "
                               "(the browser sent Sec-Fetch-Site: cross-site)")
        if request.method == "POST":
            self._check_form(request)
        self._count_fields(request.environ.get("QUERY_STRING", "").count("&") + 1, "the query string")

    def _check_host(self, host: str | None) -> None:
        if host is None:  # HTTP/1.0: no name to rebind
            return
        name = _host_name(host)
        if name in self.hostnames or _is_ip(name):
            return
        raise _refuse(421, f"this appliance does not answer to the name {name[:100]!r} (Host header); "
                           f"it answers to its IP addresses and to {', '.join(sorted(self.hostnames))} "
                           "([http] hostnames)")

    def _check_form(self, request: bottle.BaseRequest) -> None:
        length = request.content_length
        if length > self.max_form:
            raise _refuse(413, f"the form is {length} bytes; at most {self.max_form} are accepted "
                               "([http] max_form); send many recipients through /api/v1")
        self._check_credentials_first(request)
        body = request.body.read(self.max_form + 1)  # bottle keeps it for the command to read again
        if request.content_type.lower().startswith("multipart/"):
            boundary = _boundary(request.environ.get("CONTENT_TYPE", ""))  # bottle lowercases its copy
            if boundary is None:
                raise _refuse(400, "the multipart body has no boundary in its Content-Type")
            self._count_fields(body.count(b"--" + boundary) - 1, "the form")
            try:
                request.forms  # noqa: B018  parsed here, where its faults are the client's; kept for the command
            except bottle.MultipartError as error:
                raise _refuse(400, f"the multipart body is malformed: {error.body}") from None
        else:
            self._count_fields(body.count(b"&") + 1, "the form")

    def _check_credentials_first(self, request: bottle.BaseRequest) -> None:
        """A wrong password in the query string is refused before the body is read."""
        if self.check_credentials is None:
            return
        query = request.query
        name = query.getunicode("username")
        if name and not self.check_credentials(name, query.getunicode("password") or "",
                                               request.environ.get("REMOTE_ADDR")):
            # the command's own answer, as the command would give it: one line, no line break
            raise bottle.HTTPResponse(ApiError(AUTHENTICATION_ERROR, "unknown user or wrong password, or too many "
                                                                     "failed attempts").line(),
                                      200, {"Content-Type": "text/plain; charset=utf-8"})

    def _count_fields(self, count: int, where: str) -> None:
        if count > self.max_form_fields:
            raise _refuse(413, f"{where} has about {count} fields; at most {self.max_form_fields} are "
                               "accepted ([http] max_form_fields)")


def _refuse(status: int, text: str, **headers: str) -> bottle.HTTPResponse:
    return bottle.HTTPResponse(text + "\r\n", status, {"Content-Type": "text/plain; charset=utf-8", **headers})


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:9710
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _boundary(content_type: str) -> bytes | None:
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"').encode("latin-1")
    return None


def hostnames_of(names: Iterable[str]) -> frozenset[str]:
    """Names as the guard compares them."""
    return frozenset(n.strip().lower().rstrip(".") for n in names if n.strip())
