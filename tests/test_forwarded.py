"""The client's address behind a trusted proxy (appliance/web/forwarded.py)."""

import pytest

from appliance.web.forwarded import client_address, networks

TRUSTED = networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize("peer, header, expected", [
    ("127.0.0.1", "192.0.2.7", "192.0.2.7"),               # the proxy says who
    ("127.0.0.1", " 192.0.2.7 ", "192.0.2.7"),
    ("192.0.2.50", "192.0.2.7", "192.0.2.50"),             # not a proxy: its own address, whatever it says
    ("127.0.0.1", None, "127.0.0.1"),                      # a proxy that says nothing
    ("127.0.0.1", "", "127.0.0.1"),
    ("127.0.0.1", "203.0.113.1, 192.0.2.7", "192.0.2.7"),  # the client's own claim, on the left, is not believed
    ("127.0.0.1", "192.0.2.7, 10.1.1.1", "192.0.2.7"),     # a trusted hop is passed over
    ("127.0.0.1", "10.2.2.2, 10.1.1.1", "10.2.2.2"),       # all trusted: the farthest
    ("127.0.0.1", "192.0.2.7, junk", "127.0.0.1"),         # not a list of addresses: counts for nothing
    ("127.0.0.1", "unknown", "127.0.0.1"),
    ("::1", "2001:db8::7", "2001:db8::7"),
    ("::ffff:127.0.0.1", "192.0.2.7", "192.0.2.7"),        # a dual-stack socket's view of the proxy
    ("127.0.0.1", "::ffff:192.0.2.7", "192.0.2.7"),
])
def test_the_client_is_the_first_address_from_the_right_no_trusted_proxy_owns(peer, header, expected):
    assert client_address(peer, header, TRUSTED) == expected


def test_without_trusted_proxies_the_header_is_never_read():
    assert client_address("127.0.0.1", "192.0.2.7", ()) == "127.0.0.1"
