"""``POST /providers/<gateway>/report``: an HTTP provider's delivery callback, applied as
a polled report is (gateways/providers/reports.py).

Only a gateway with a ``callback_url`` takes callbacks, and only verified ones: where the
provider signs them (Twilio's X-Twilio-Signature), the signature over that URL; where it
does not, the secret query the URL carries (``?key=...``), which the request must repeat.
Anything else is refused with 403 and changes nothing. Answers are plain text: 200 (with
how many messages changed), 403, 404 no such provider gateway, 413 too large, 422 a
provider whose callbacks are not taken. See docs/providers.md, "Delivery reports".
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import bottle

from ..gateways.providers import api
from ..gateways.providers.engine import ProviderGateway

log = logging.getLogger(__name__)

MAX_CALLBACK = 64 * 1024     # bytes: a provider's report is a few hundred


@dataclass
class ProviderReportsContext:
    gateways: Mapping[str, ProviderGateway]          # the provider gateways, by name
    # applies a callback's statuses to the gateway's messages; thread-safe (the service
    # runs it on the event loop and waits): how many messages changed
    apply: Callable[[str, dict[str, api.Status]], int]


def install(app: bottle.Bottle, context: ProviderReportsContext) -> None:
    @app.post("/providers/<name>/report")
    def report(name: str) -> str:
        bottle.response.content_type = "text/plain; charset=utf-8"
        status, text = _report(context, name)
        bottle.response.status = status
        return text + "\r\n"


def _report(context: ProviderReportsContext, name: str) -> tuple[int, str]:
    gateway = context.gateways.get(name)
    if gateway is None:
        return 404, f"no provider gateway is named {name!r}"
    url = gateway.config.callback_url
    if not url:
        return 403, f"gateway {name!r} takes no callbacks: it has no callback_url"
    request = bottle.request
    if request.content_length > MAX_CALLBACK:
        return 413, f"the callback is {request.content_length} bytes; at most {MAX_CALLBACK} are accepted"
    body = request.body.read(MAX_CALLBACK + 1)
    if len(body) > MAX_CALLBACK:
        return 413, f"the callback is more than {MAX_CALLBACK} bytes"
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    form = {key: request.forms.decode("utf-8").get(key) for key in request.forms} \
        if content_type == "application/x-www-form-urlencoded" else {}
    provider = gateway.api
    headers = {key.lower(): value for key, value in request.headers.items()}
    verified = provider.callback_verified(url, form, headers) if provider.signs_callbacks else \
        _same_secret(url, request.query_string)
    if not verified:
        log.warning("%s: a delivery callback from %s refused: not signed for its callback_url",
                    name, request.remote_addr)
        return 403, ("the callback's signature does not match the gateway's callback_url" if provider.signs_callbacks
                     else "the callback does not carry the secret query of the gateway's callback_url")
    statuses = provider.callback_status(form, body)
    if statuses is None:
        return 422, f"gateway {name!r} (type {gateway.config.type!r}) takes no callbacks: its reports are polled"
    return 200, f"OK: {context.apply(name, statuses)} message(s) changed"


def _same_secret(url: str, query_string: str) -> bool:
    """Whether the request's query repeats each parameter of the configured URL's query;
    a URL without a query has no secret, and a callback to it is not trusted."""
    expected = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    given = dict(parse_qsl(query_string, keep_blank_values=True))
    matches = bool(expected)
    for key, value in expected:
        matches &= hmac.compare_digest(given.get(key, "").encode(), value.encode())
    return matches
