#!/usr/bin/env python3
"""Draw the worker pages at phone size in English, Kiswahili and Arabic into docs/screenshots/.

Runs the service on a throw-away SQLite database with the demo loaded, signs the demo worker in through
the real form, chooses each language with the picker every page carries, and photographs the pages a worker
sees. Needs Debian's Chromium (scripts/ensure-chromium) and the dev extras. Usage:

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "sw", "ar")
WORKER, PASSWORD = "amina", "demo-amina"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str, **popen: object) -> subprocess.Popen | None:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    if popen:
        return subprocess.Popen(command, env=env, cwd=ROOT, **popen)  # type: ignore[call-overload]
    subprocess.run(command, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return None


def _wait(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"screenshots: the server at {url} did not come up")


def _choose_language(page, code: str) -> None:
    """Use the language picker like a person would (it works without JavaScript)."""
    picker = page.locator("form.language-picker")
    picker.locator("select[name=language]").select_option(code)
    with page.expect_navigation():
        picker.locator("button").click()


def _shoot(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    taken: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for code in LANGUAGES:
            context = browser.new_context(**PHONE)
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            _choose_language(page, code)

            def snap(name: str, page=page, code=code) -> None:
                path = out / f"{name}-{code}.png"
                page.screenshot(path=str(path))  # the first screen, as a phone shows it
                taken.append(path)

            snap("sign-in")
            page.locator("input[name=login]").fill(WORKER)
            page.locator("input[name=password]").fill(PASSWORD)
            with page.expect_navigation():
                page.locator("form button[type=submit]").first.click()
            _choose_language(page, code)
            snap("work-home")
            with page.expect_navigation():
                page.locator("form[action$='/work/next/'] button").first.click()
            snap("task")
            page.goto(f"{base}/work/earnings/")
            snap("earnings")
            page.goto(f"{base}/work/profile/")
            snap("profile")
            context.close()
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp}/screenshots.sqlite3",
            "REDIS_URL": "",
        }
        _manage(env, "migrate", "--noinput")
        _manage(env, "load_demo")
        port = _free_port()
        server = _manage(env, "runserver", "--noreload", f"127.0.0.1:{port}", stdout=subprocess.DEVNULL)
        try:
            _wait(f"http://127.0.0.1:{port}/healthz/")
            for path in _shoot(f"http://127.0.0.1:{port}", args.out):
                print(f"screenshots: {path.relative_to(ROOT)}")
        finally:
            assert server is not None
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
