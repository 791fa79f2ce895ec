"""The browser the worker pages are tested and measured in: Debian's Chromium, set up as a cheap Android phone.
Shared by the browser tests (tests/e2e/conftest.py) and the timing bench (bench/browser.py); no pytest here."""

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home to Google on start and stalls where there is no network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    # A cheap Android phone: small screen, touch, mobile Chrome user agent.
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36"
    ),
    "locale": "en-US",
}
