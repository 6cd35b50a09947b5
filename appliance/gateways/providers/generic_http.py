"""A provider the appliance has no module for, described in the configuration (type
``http``): the URL (``base_url``), GET or POST (``method``), a parameter template
(``parameters``: ``to={to}&text={text}&from={sender}&user=ACME``), the regular
expression an accepted answer matches (``success_pattern``) and the one whose first
group is the provider's id for the message (``id_pattern``).

One message a request (no batch); no status or balance API. The appliance cannot know
whether such a provider drops a repeated message, so it is not idempotent: a request
whose answer never came may be sent twice when it is tried again (docs/providers.md).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

from ...config.file import ConfigError, ProviderConfig
from .api import Answer, Kind, Outgoing, ProviderApi, Request, Result, required, retry_after

PLACEHOLDERS = ("to", "text", "sender", "id", "unicode")
SHOWN = 200   # characters of an unexpected answer kept as the error text


class GenericHttp(ProviderApi):
    type: ClassVar[str] = "http"
    public_url: ClassVar[str] = ""
    batch: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.success = re.compile(config.success_pattern)
        self.ident = re.compile(config.id_pattern) if config.id_pattern else None

    @classmethod
    def check(cls, config: ProviderConfig, key: str) -> None:
        required(config, key, "base_url", "parameters", "success_pattern")
        try:
            fields = [(f, spec, conversion) for _, f, spec, conversion in string.Formatter().parse(config.parameters)
                      if f is not None]
        except ValueError as error:
            raise ConfigError(f"{key}.parameters", f"is not a template of {{placeholders}}: {error}") from None
        for name, spec, conversion in fields:
            if spec or conversion:
                raise ConfigError(f"{key}.parameters", f"has {{{name}}} with a format or conversion: write "
                                                       f"the placeholder alone, as {{{name}}}")
            if name not in PLACEHOLDERS:
                raise ConfigError(f"{key}.parameters", f"has the unknown placeholder {{{name}}} (known: "
                                                       + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ")")
        for field in ("success_pattern", "id_pattern"):
            try:
                pattern = re.compile(getattr(config, field))
            except re.error as error:
                raise ConfigError(f"{key}.{field}", f"is not a regular expression: {error}") from None
            if field == "id_pattern" and config.id_pattern and pattern.groups < 1:
                raise ConfigError(f"{key}.id_pattern", "needs a group, (...), around the provider's id")

    def send_request(self, messages: Sequence[Outgoing]) -> Request:
        (message,) = messages
        values = {"to": message.recipient, "text": message.text, "sender": message.sender,
                  "id": message.message_id, "unicode": "1" if message.unicode else "0"}
        query = self.config.parameters.format_map({k: quote(v, safe="") for k, v in values.items()})
        if self.config.method == "GET":
            return Request("GET", f"{self.base_url}{'&' if '?' in self.base_url else '?'}{query}")
        return Request("POST", self.base_url, {"Content-Type": "application/x-www-form-urlencoded"}, query.encode())

    def send_results(self, messages: Sequence[Outgoing], answer: Answer) -> list[Result]:
        body = answer.body.decode("utf-8", errors="replace")
        shown = body[:SHOWN]
        if answer.status == 429 or answer.status >= 500:
            result = Result(Kind.TEMPORARY, error_code=answer.status, error_text=shown,
                            retry_after=retry_after(answer))
        elif answer.status in (401, 403):
            result = Result(Kind.CREDENTIALS, error_code=answer.status, error_text=shown)
        elif 200 <= answer.status < 300 and self.success.search(body):
            found = self.ident.search(body) if self.ident else None
            result = Result(Kind.SENT, provider_id=found.group(1) if found else "")
        else:
            result = Result(Kind.PERMANENT, error_code=answer.status, error_text=shown)
        return [result] * len(messages)
