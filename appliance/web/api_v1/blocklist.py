"""/api/v1/blocklist: the numbers no message is sent to, for administrators only.

The list holds the numbers of people who asked to be left alone, so only an
administrator reads or changes it, as with users.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from ...messages import blocklist
from ...store.models import BlockedNumber
from .auth import require_admin
from .endpoint import NO_CONTENT, Api, Call, Reply
from .fields import Input, Output, Time, timestamp
from .wire import invalid, not_found

Number = Annotated[str, Meta(min_length=1, max_length=64, description="a phone number, or the start of one")]


class BlockInput(Input, kw_only=True):
    number: Number
    prefix: Annotated[bool, Meta(description="block every number that starts with it")] = False
    reason: Annotated[str, Meta(max_length=blocklist.MAX_REASON)] = ""


class Block(Output):
    number: str              # normalised, as recipients are stored
    prefix: bool
    source: str              # cli, api or stop word
    reason: str
    created_at: Time


class BlockList(Output):
    blocked: list[Block]


def _block(row: BlockedNumber) -> Block:
    return Block(row.number, row.prefix, row.source, row.reason, timestamp(row.created_at))


def install(api: Api) -> None:
    @api.route("GET", "/blocklist")
    def list_blocked(call: Call) -> BlockList:
        require_admin(call.principal)
        return BlockList([_block(row) for row in blocklist.listed()])

    @api.route("POST", "/blocklist")
    def block(call: Call) -> Reply:
        require_admin(call.principal)
        body = call.body(BlockInput)
        try:
            row = blocklist.add(body.number, prefix=body.prefix, source="api", reason=body.reason,
                                country_code=call.context.http.country_code)
        except ValueError as error:
            raise invalid("number", f"number: {error}") from None
        return Reply(_block(row), 201)

    @api.route("DELETE", "/blocklist/<number>")
    def unblock(call: Call, number: str) -> Reply:
        require_admin(call.principal)
        try:
            blocklist.remove(number, source="api", country_code=call.context.http.country_code)
        except blocklist.NotListed:
            raise not_found(f"a block list entry {number!r}") from None
        except ValueError as error:
            raise invalid("number", f"number: {error}") from None
        return NO_CONTENT
