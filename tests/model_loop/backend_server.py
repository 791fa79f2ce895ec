"""A real HTTP server on 127.0.0.1 in a thread speaking Label Studio's ML backend protocol, for the backend tests
(tests/model_loop/test_backends.py in process, test_backend_retries_worker.py through a real Celery worker)."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeBackend:
    """What the server answers, and what it was asked."""

    health: Any = field(default_factory=lambda: {"status": "UP", "model_version": "v3"})
    # tasks -> (status, body: JSON-able or raw bytes)
    predict: Callable[[list[dict]], tuple[int, Any]] | None = None
    stall: threading.Event | None = None  # /predict waits for this before answering
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if path.endswith("/health"):
            return (200, self.health) if not isinstance(self.health, int) else (self.health, {"status": "DOWN"})
        if path.endswith("/predict"):
            if self.stall is not None:
                self.stall.wait(5)
            predict = self.predict or default_predict
            return predict(body["tasks"])
        if path.endswith("/train"):
            return 200, {"status": "ok"}
        return 404, {}

    def paths(self, suffix: str) -> list[Any]:
        return [body for method, path, body in self.requests if path.endswith(suffix)]


def choice(label: str, score: float = 0.87, version: str | None = "v3") -> dict:
    result = {
        "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}],
        "score": score,
    }
    if version:
        result["model_version"] = version
    return result


def default_predict(items: list[dict]) -> tuple[int, Any]:
    return 200, {"results": [choice("pos" if "good" in item["data"]["text"] else "neg") for item in items]}


@contextmanager
def fake_backend_server() -> Iterator[FakeBackend]:
    """Serve a FakeBackend until the block ends; its `url` is set (the caller allows private addresses)."""
    backend = FakeBackend()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, body = backend.answer(method, self.path, json.loads(raw) if raw else None)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (the timeout test)
                pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    backend.url = f"http://127.0.0.1:{server.server_address[1]}/ml"
    try:
        yield backend
    finally:
        if backend.stall is not None:
            backend.stall.set()
        server.shutdown()
        server.server_close()
