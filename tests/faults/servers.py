"""Real outside processes for fault tests: a redis-server, a Celery worker and gunicorn of the test's own, on
free ports, so a test can stop, restart or SIGKILL them without touching the shared Redis on 6379."""

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """A throwaway redis-server without persistence: a restart loses everything queued, like a crash would."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _listening(self.port), timeout=10, what=f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def service_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a service process of the project: its own Redis, the test's database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        PYTHONPATH=str(ROOT),
        DJANGO_DEBUG="false",
        **extra,
    )
    return env


def start_celery_worker(env: dict[str, str], log: Path, *, name: str) -> subprocess.Popen:
    """One worker process (solo pool: SIGKILL takes the task with it, as a lost host would)."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-n", f"{name}@%h", "-l", "info"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_gunicorn(env: dict[str, str], log: Path, *, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def up() -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
        except urllib.error.HTTPError:
            return True  # answering, even 503
        except OSError:
            return False
        return True

    wait_until(up, timeout=60, what="gunicorn")
    return process


def kill(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the process's whole session (a Celery or gunicorn master and its children) and reap it."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer to look at, not to follow
        return None


class Http:
    """A small HTTP client for a server of the test's own: JSON in and out, cookies kept, errors returned."""

    def __init__(self, base: str, token: str | None = None):
        self.base = base
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies, _NoRedirect())

    def request(self, method: str, path: str, *, json_body=None, form=None, headers=None) -> tuple[int, bytes]:
        data, extra = None, dict(self.headers, **(headers or {}))
        if json_body is not None:
            data, extra["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=extra)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx: the status is the answer
            return exc.code, exc.read()

    def json(self, method: str, path: str, body=None) -> tuple[int, dict]:
        status, content = self.request(method, path, json_body=body)
        return status, (json.loads(content) if content else {})
