"""Sending one webhook request, and which targets may be called.

Every request goes through config/outbound.py: the address is checked where the socket is opened (after DNS, so a
name cannot be rebound to an internal address between the check and the connection), redirects are never followed,
and loopback, link-local and private addresses are refused unless CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE=1. Plain http://
is refused where WEBHOOKS_HTTPS_ONLY is on (production); local and test settings turn it off.
"""

import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from config.outbound import OutboundFailed, OutboundRefused, address_allowed, outbound_request, private_allowed
from crowd.webhooks.signing import signature_header

CONNECT_TIMEOUT_SECONDS = 3.0
TOTAL_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 64 * 1024  # the answer's body is not used: a little of it is read so the connection ends well
URL_MAX_LENGTH = 2000
USER_AGENT = "Crowdloop-Webhooks/1"
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def https_only() -> bool:
    return bool(getattr(settings, "WEBHOOKS_HTTPS_ONLY", True))


def target_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks (a translated sentence), or None. Checked on create and edit; the address a
    name resolves to is checked again at every connection, where it counts."""
    if not isinstance(url, str) or not url.strip():
        return _("Give the address that receives the events.")
    if len(url) > URL_MAX_LENGTH:
        return _("The address is longer than %(most)s characters.") % {"most": URL_MAX_LENGTH}
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("That is not a valid address.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return _("The address must start with https:// and name a host.")
    if scheme != "https" and https_only():
        return _("Only https:// addresses can receive webhooks.")
    if parts.username or parts.password:
        return _("The address must not contain a user name or password.")
    if port == 0:
        return _("That is not a valid address.")
    if private_allowed():
        return None
    host = parts.hostname.rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return _("Webhooks cannot be sent to this machine (localhost).")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None  # a name: resolved and checked when connecting
    if not address_allowed(host, allow_private=False):
        return _("Webhooks cannot be sent to private, loopback or link-local addresses.")
    return None


@dataclass(frozen=True)
class Attempt:
    """What one request did: `status` is the HTTP status (None when no answer came); `permanent` errors (a refused
    target) are not worth retrying."""

    ok: bool
    status: int | None
    duration_ms: int
    error: str
    permanent: bool = False


def body_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def delivery_post(*, url: str, secret: str, event_id: str, event_type: str, body: bytes) -> Attempt:
    """POST one signed event. Any 2xx is success; a redirect, 4xx or 5xx is a failure (410 Gone a permanent one)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Crowdloop-Event-Id": event_id,
        "X-Crowdloop-Event": event_type,
        "X-Crowdloop-Signature": signature_header(secret, timestamp, body),
    }
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        response = outbound_request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=TOTAL_TIMEOUT_SECONDS,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            max_bytes=MAX_RESPONSE_BYTES,
            https_only=https_only(),
        )
    except OutboundRefused as exc:
        return Attempt(False, None, elapsed(), str(exc)[:500], permanent="larger" not in str(exc))
    except OutboundFailed as exc:
        return Attempt(False, None, elapsed(), str(exc)[:500])
    if 200 <= response.status < 300:
        return Attempt(True, response.status, elapsed(), "")
    if 300 <= response.status < 400:
        error = _("HTTP %(status)s: redirects are not followed.") % {"status": response.status}
    else:
        error = _("HTTP %(status)s.") % {"status": response.status}
    return Attempt(False, response.status, elapsed(), error, permanent=response.status == 410)
