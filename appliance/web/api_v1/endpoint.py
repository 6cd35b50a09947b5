"""One place that turns a resource's handler into a bottle route: it authenticates, reads
the query and body strictly, encodes the reply as the caller asked, and turns every
refusal into the API's error object."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import bottle

from ...accounts.users import Principal
from .auth import principal_of
from .context import ApiV1Context
from .fields import Input, NoQuery
from .fields import query as read_query
from .wire import ApiError, encode, read_body, reply_type

log = logging.getLogger(__name__)

PREFIX = "/api/v1"


@dataclass
class Reply:
    payload: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


NO_CONTENT = Reply(None, 204)
B = TypeVar("B", bound=Input)


@dataclass
class Call:
    """One request as a handler sees it."""

    context: ApiV1Context
    caller: Principal | None    # None only for the public operations, which do not look
    query: Any                  # the operation's declared query Struct

    @property
    def principal(self) -> Principal:
        """Who is calling; an operation that is public has no one to ask about."""
        if self.caller is None:
            raise RuntimeError("a public operation asked who is calling")
        return self.caller

    def body(self, kind: type[B]) -> B:
        """The body, read as ``kind`` declares it."""
        return read_body(kind)


Handler = Callable[..., Any]


def _query_parameters() -> dict[str, list[str]]:
    try:
        return bottle.request.query.decode("utf-8").dict
    except UnicodeError:
        raise ApiError(400, "malformed_query", "the query string is not UTF-8") from None


class Api:
    def __init__(self, app: bottle.Bottle, context: ApiV1Context) -> None:
        self.app = app
        self.context = context

    def route(self, method: str, path: str, *, query: type[Input] = NoQuery, public: bool = False
              ) -> Callable[[Handler], Handler]:
        """Register ``handler(call, **path_args)``; it returns data (200) or a Reply.
        ``query``: the Struct its query parameters are read as."""
        def decorate(handler: Handler) -> Handler:
            def serve(**path_args: Any) -> bytes:
                return self.serve(handler, query, public, path_args)
            self.app.route(PREFIX + path, method=method, callback=serve, name=f"api_v1.{handler.__name__}")
            return handler
        return decorate

    def serve(self, handler: Handler, query_kind: type[Input], public: bool, path_args: dict) -> bytes:
        media_type = reply_type(bottle.request.get_header("Accept"))
        try:
            # the socket's peer for the login throttle, never a header a client can forge
            principal = None if public else principal_of(bottle.request.get_header("Authorization"),
                                                          self.context.http.authenticator,
                                                          bottle.request.environ.get("REMOTE_ADDR"))
            result = handler(Call(self.context, principal, read_query(_query_parameters(), query_kind)), **path_args)
            reply = result if isinstance(result, Reply) else Reply(result)
        except ApiError as error:
            reply = Reply(error.body(), error.status, error.headers)
        except Exception:
            log.exception("%s %s failed", bottle.request.method, bottle.request.path)
            reply = Reply(ApiError(500, "internal_error", "a fault of the appliance; see its log").body(), 500)
        bottle.response.status = reply.status
        for name, value in reply.headers.items():
            bottle.response.set_header(name, value)
        if reply.payload is None:
            return b""
        bottle.response.content_type = media_type
        return encode(reply.payload, media_type)

    def install_fallback(self) -> None:
        """Paths under /api/v1 that name no operation answer in the API's own error format:
        404, or 405 with Allow when the path exists for other methods."""
        def fallback(rest: str) -> bytes:
            path = bottle.request.path
            allowed = [method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
                       if self._matches(path, method)]
            if allowed:
                error = ApiError(405, "method_not_allowed",
                                 f"{bottle.request.method} is not allowed here; use {', '.join(allowed)}",
                                 headers={"Allow": ", ".join(allowed)})
            else:
                error = ApiError(404, "not_found", f"{path} is not a resource of this API")
            media_type = reply_type(bottle.request.get_header("Accept"))
            bottle.response.status = error.status
            for name, value in error.headers.items():
                bottle.response.set_header(name, value)
            bottle.response.content_type = media_type
            return encode(error.body(), media_type)
        self.app.route(PREFIX + "/<rest:path>", method="ANY", callback=fallback, name="api_v1.fallback")

    def _matches(self, path: str, method: str) -> bool:
        try:
            route, _ = self.app.router.match({"PATH_INFO": path, "REQUEST_METHOD": method})
        except bottle.HTTPError:
            return False
        return route.name != "api_v1.fallback"
