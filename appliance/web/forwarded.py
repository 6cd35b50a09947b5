"""The client's address behind a reverse proxy: ``X-Forwarded-For`` believed only when the
connection comes from an address in ``[http] trusted_proxies``.

The login throttle counts failures per client address (``REMOTE_ADDR``). Behind nginx
every connection comes from the proxy, so the proxy's word is taken for the client's
address; from anyone else the header is a claim a guesser would change with every
attempt, and it is ignored. A few lines of our own rather than a library's "proxy fix":
those trust a number of hops, whoever sent them, and the point here is to trust an address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``127.0.0.1``, ``::1`` or ``10.0.0.0/8``: an address is a network of one. Raises
    ValueError naming the entry that is neither."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's ::ffff:192.0.2.1 is 192.0.2.1
    return address


def _trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The address to count a request against: the peer's, unless the peer is a trusted
    proxy that says who it forwards for. Walking the header from its right end, each hop
    a trusted proxy added is passed over, and the first address no trusted proxy owns is
    the client (nginx as configured in image/nginx/ sends exactly one). A header that is
    not a list of addresses counts for nothing."""
    if not trusted or not forwarded_for:
        return peer
    nearest = _address(peer)
    if nearest is None or not _trusted(nearest, trusted):
        return peer
    client = nearest
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            return peer
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)
