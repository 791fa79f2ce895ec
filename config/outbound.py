"""Every call this service makes to an address someone else typed in (item images today; webhooks and model
backends use the same door): one request, a short timeout, no redirect followed, a capped body, and no private
address unless the deployment allows it.

The address is checked where the socket is opened, after DNS resolution, and the connection goes to exactly the
address that was checked: a name that resolves to a public address for the check and to 127.0.0.1 a moment later
(DNS rebinding) still reaches only the public one. TLS is verified against the name, not the address.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024


class OutboundRefused(ValueError):
    """Permanent: the target may not be called (scheme, private address, body too large). Retrying cannot help."""


class OutboundFailed(Exception):
    """Transient: the target could not be reached this time (resolution, connection, timeout)."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def private_allowed() -> bool:
    """Local deployments and tests may call private addresses (CROWDLOOP_WEBHOOKS_ALLOW_PRIVATE=1)."""
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE", False))


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Only globally routable addresses, unless private ones are allowed; never the unspecified or multicast ones."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return ip.is_global or allow_private


def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, in the resolver's order (separate so tests can stand in for DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # a name IDNA cannot encode (an empty or too long label): no retry can help
        raise OutboundRefused(f"{host} is not a valid host name.") from exc
    except OSError as exc:
        raise OutboundFailed(f"Cannot resolve {host}.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Guard:
    """Mixed into urllib3's connections: resolve, check, then connect to the checked address only."""

    allow_private = False

    def _new_conn(self) -> socket.socket:
        addresses = resolve(self.host, self.port)
        allowed = [a for a in addresses if address_allowed(a, allow_private=self.allow_private)]
        if not allowed:
            raise OutboundRefused(f"{self.host} resolves to a private or reserved address.")
        self._dns_host = allowed[0]  # urllib3 connects to _dns_host; SNI, certificate and Host stay on the name
        return super()._new_conn()


class _GuardedHTTP(_Guard, HTTPConnection):
    pass


class _GuardedHTTPS(_Guard, HTTPSConnection):
    pass


def outbound_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_private: bool | None = None,
    https_only: bool = False,
    connect_timeout: float | None = None,
) -> OutboundResponse:
    """Send one request and read at most `max_bytes` of the answer. A 3xx is returned as it is, never followed.

    Raises OutboundRefused (permanent) or OutboundFailed (transient). Any status is a response: the caller decides
    what a 4xx or 5xx means for it. With `connect_timeout`, `timeout` bounds connecting and reading together."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port out of range or not a number is a ValueError, like a bad IPv6 bracket
    except ValueError as exc:
        raise OutboundRefused("The URL is malformed.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("Only http(s) URLs with a host can be called.")
    if https_only and scheme != "https":
        raise OutboundRefused("Only https:// URLs can be called here.")
    allow = private_allowed() if allow_private is None else allow_private
    guarded = type("Guarded", (_GuardedHTTPS if scheme == "https" else _GuardedHTTP,), {"allow_private": allow})
    pool_class = HTTPSConnectionPool if scheme == "https" else HTTPConnectionPool
    try:
        pool = pool_class(
            parts.hostname,
            port,
            timeout=urllib3.Timeout(connect=timeout, read=timeout)
            if connect_timeout is None
            else urllib3.Timeout(total=timeout, connect=connect_timeout, read=timeout),
            retries=False,
            maxsize=1,
        )
    except urllib3.exceptions.LocationValueError as exc:  # a host urllib3 cannot parse (a space, a bad IDNA label)
        raise OutboundRefused(f"{parts.hostname} is not a valid host name.") from exc
    pool.ConnectionCls = guarded
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    started = time.monotonic()
    try:
        response = pool.urlopen(
            method, path, body=body, headers=headers or {}, redirect=False, preload_content=False, retries=False
        )
        try:
            data = response.read(max_bytes + 1, decode_content=True)
        finally:
            response.release_conn()
    except OutboundRefused:
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise OutboundFailed(f"{parts.hostname} could not be reached: {type(exc).__name__}.") from exc
    finally:
        pool.close()
    if len(data) > max_bytes:
        raise OutboundRefused(f"The answer is larger than {max_bytes} bytes.")
    return OutboundResponse(
        status=response.status,
        headers={key.lower(): value for key, value in response.headers.items()},
        body=data,
        seconds=time.monotonic() - started,
    )
