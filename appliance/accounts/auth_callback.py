"""HTTP callback authentication: another system vouches for users the appliance does not know.

Diafaan's "HTTP callback authentication": the user name and password are POSTed,
form-encoded, to a configured URL; a 200 reply whose body starts with ``OK`` lets the
caller in with the rights of an ordinary user and no administrator commands. Anything
else (another status, another body, no answer within the timeout) is a refusal: the
appliance fails closed.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger(__name__)

MAX_REPLY = 256  # only the start of the body matters; a huge reply is not read


class AuthCallback:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def __call__(self, name: str, password: str) -> bool:
        body = urllib.parse.urlencode({"username": name, "password": password}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "sms-appliance"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status == 200 and response.read(MAX_REPLY).startswith(b"OK")
        except urllib.error.HTTPError as error:
            error.close()
            return False
        except (OSError, ValueError) as error:
            log.warning("authentication callback %s did not answer: %s", self.url,
                        getattr(error, "reason", error))
            return False
