"""The one door for calls to addresses others typed in: private targets refused where the socket is opened,
the checked address is the one connected to, redirects returned and never followed, bodies capped. Against a
real HTTP server on loopback; only DNS is stood in for, where a test needs a name to resolve somewhere."""

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config import outbound
from config.outbound import OutboundFailed, OutboundRefused, address_allowed, outbound_request


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Host", "")))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = b"x" * 5000 if self.path == "/big" else b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),  # loopback dressed as IPv6
        ("fd00::1", False),
    ],
)
def test_only_global_addresses_are_allowed_by_default(address, allowed):
    assert address_allowed(address, allow_private=False) is allowed


def test_private_targets_may_be_allowed_but_never_unspecified_or_multicast():
    assert address_allowed("127.0.0.1", allow_private=True)
    assert not address_allowed("0.0.0.0", allow_private=True)
    assert not address_allowed("224.0.0.1", allow_private=True)


def test_a_private_target_is_refused_before_any_connection(server):
    with pytest.raises(OutboundRefused):
        outbound_request("GET", f"http://127.0.0.1:{server}/", allow_private=False)
    assert _Handler.seen == []


def test_an_allowed_private_target_is_called(server):
    response = outbound_request("GET", f"http://127.0.0.1:{server}/hello?x=1", allow_private=True)
    assert (response.status, response.body) == (200, b"hello")
    assert _Handler.seen == [("/hello?x=1", f"127.0.0.1:{server}")]


def test_the_deployment_setting_allows_private_targets(server, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(OutboundRefused):
        outbound_request("GET", f"http://127.0.0.1:{server}/")
    settings.OUTBOUND_ALLOW_PRIVATE = True
    assert outbound_request("GET", f"http://127.0.0.1:{server}/").status == 200


def test_a_redirect_is_returned_and_never_followed(server):
    response = outbound_request("GET", f"http://127.0.0.1:{server}/redirect", allow_private=True)
    assert response.status == 302
    assert response.headers["location"].startswith("http://169.254.169.254/")
    assert [path for path, _ in _Handler.seen] == ["/redirect"]


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(server, monkeypatch):
    """DNS rebinding: the name is resolved once, the answer checked, and that address connected to. A second
    lookup of the name (here it would say 10.255.255.1, where nothing answers) is never made."""
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"] if host == "rebind.example" else [])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "rebind.example":
            return real_getaddrinfo("10.255.255.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    response = outbound_request("GET", f"http://rebind.example:{server}/", allow_private=True, timeout=2)
    assert response.body == b"hello"
    assert _Handler.seen == [("/", f"rebind.example:{server}")]  # the name travels in Host, TLS would verify it


def test_a_name_with_only_private_addresses_is_refused(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["10.0.0.7", "192.168.1.1"])
    with pytest.raises(OutboundRefused, match="private"):
        outbound_request("GET", "https://intranet.example/", allow_private=False)


def test_a_body_over_the_cap_is_refused(server):
    with pytest.raises(OutboundRefused, match="larger"):
        outbound_request("GET", f"http://127.0.0.1:{server}/big", allow_private=True, max_bytes=1000)


def test_nothing_listening_is_a_transient_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundFailed):
        outbound_request("GET", f"http://127.0.0.1:{port}/", allow_private=True, timeout=2)


@pytest.mark.parametrize("url", ["ftp://example.org/x", "file:///etc/passwd", "http:///nohost", "gopher://a/"])
def test_other_schemes_are_refused(url):
    with pytest.raises(OutboundRefused):
        outbound_request("GET", url)


def test_https_only_refuses_plain_http():
    with pytest.raises(OutboundRefused, match="https"):
        outbound_request("GET", "http://example.org/", https_only=True)
