"""Which gateway may send a connector's message, and which connectors hear what a gateway
receives: Diafaan's gateway assignment (docs/architecture.md, Gateway assignment).

Each connector assigns each gateway a use (send and receive, send only, receive only, not
used) and a role (primary or backup). A message goes out through the connector's primary
gateways, each tried up to ``max_send_attempts`` times; only when every primary has used
its attempts may a backup take it, in the same way. A message's own ``gateway`` list
narrows the choice to those of the connector's gateways; a backup stays a backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config.file import BACKUP, PRIMARY, RECEIVE, SEND, SEND_RECEIVE


@dataclass(frozen=True)
class Assignment:
    gateway: str
    use: str = SEND_RECEIVE
    role: str = PRIMARY

    @property
    def sends(self) -> bool:
        return self.use in (SEND_RECEIVE, SEND)

    @property
    def receives(self) -> bool:
        return self.use in (SEND_RECEIVE, RECEIVE)


@dataclass(frozen=True)
class Connector:
    name: str
    kind: str                               # "http", "webhook", ...
    assignments: tuple[Assignment, ...]
    max_send_attempts: int = 3

    def senders(self, requested: str = "") -> tuple[list[str], list[str]]:
        """(primaries, backups) that may send a message with this ``gateway`` parameter."""
        wanted = {name for name in requested.split(";") if name} if requested else None
        chosen = [a for a in self.assignments if a.sends and (wanted is None or a.gateway in wanted)]
        if wanted is not None and not chosen:
            # none of the requested names is one of ours: Diafaan ignores them all
            chosen = [a for a in self.assignments if a.sends]
        return ([a.gateway for a in chosen if a.role == PRIMARY],
                [a.gateway for a in chosen if a.role == BACKUP])

    def receives_from(self, gateway: str) -> bool:
        return any(a.gateway == gateway and a.receives for a in self.assignments)


class Routing:
    """All connectors, by name; answers the router's two questions."""

    def __init__(self, connectors: list[Connector]) -> None:
        self.connectors = {c.name: c for c in connectors}

    def may_send(self, connector: str, requested: str, tried: dict[str, int], gateway: str,
                 can_send: Callable[[str], bool] = lambda gateway: True) -> bool:
        """May ``gateway`` take this message now, given what was tried so far?

        A primary that cannot send now counts as done: out of service (its modem failed,
        lost the network, needs a PIN), paused by an administrator, or held back by its
        send limit. A primary that cannot send must not hold messages back from the backups.
        """
        route = self.connectors.get(connector)
        if route is None:
            return False
        primaries, backups = route.senders(requested)
        limit = route.max_send_attempts
        if gateway in primaries:
            return tried.get(gateway, 0) < limit
        if gateway in backups:
            primaries_done = all(tried.get(p, 0) >= limit or not can_send(p) for p in primaries)
            return primaries_done and tried.get(gateway, 0) < limit
        return False

    def exhausted(self, connector: str, requested: str, tried: dict[str, int]) -> bool:
        """True when no gateway may try again: the message has failed for good."""
        route = self.connectors.get(connector)
        if route is None:
            return True
        primaries, backups = route.senders(requested)
        return all(tried.get(g, 0) >= route.max_send_attempts for g in primaries + backups)

    def receivers(self, gateway: str) -> list[Connector]:
        """Every connector that receives from ``gateway``: one SMS may reach several."""
        return [c for c in self.connectors.values() if c.receives_from(gateway)]
