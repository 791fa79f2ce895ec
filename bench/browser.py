"""Browser timing of the worker's task page on a slow phone link: Debian's Chromium driven by Playwright, against
gunicorn on a dedicated PostgreSQL database, with the link emulated through the DevTools protocol (400 ms round
trip, 400 kbit/s down and up; `Network.emulateNetworkConditions`).

    .venv/bin/python bench/browser.py            # 7 measured runs of each measurement
    .venv/bin/python bench/browser.py --runs 15

Needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`; Playwright cannot download its own
browsers here), PostgreSQL (default postgres://postgres@127.0.0.1:5432/, trust auth, allowed to create databases)
and Redis (default redis://127.0.0.1:6379/13, flushed at start and end). Drops and recreates the database
`crowdloop_bench_browser`, migrates it, seeds it through the product's services and drops it at the end.

What is measured, each on a phone-sized context (`PHONE` below), repeated `--runs` times after one unmeasured
warm-up, printed as median, min and max in ms with the ratio to its budget:

1. submit and next (budget 600 ms): from the tap on "Submit and next" until the next microtask is usable, i.e.
   the URL and the form's action name a new assignment and its first answer choice is visible. Timed from the
   touch event sent to the page (Playwright's touchscreen) to the moment the condition holds (polled on every
   animation frame with JavaScript on; the new document's DOMContentLoaded with it off).
   - `submit_and_next_js`: the page's script on, nothing fetched ahead (the `.../ahead/` request is blocked, as
     when the worker taps before it returns or it failed): the answers go with `X-Crowdloop-Inline: 1` and the
     next task comes back in the same response, one round trip. The budget is judged on this one.
   - `submit_and_next_js_ahead`: the script on, the worker taps once the next task fetched ahead (started by
     the first answer) has arrived: the next task is shown from memory, the answers are sent behind it.
   - `submit_and_next_nojs`: JavaScript off, the plain form: POST, 302, GET (the baseline).
2. cold start (budget 2 s): an empty cache (`Network.setCacheDisabled`) and no cookies; from the navigation to
   the sign-in form until the first task page is usable, through the shortest path a worker takes: sign-in form,
   username and password, "Sign in", the work home, "Start", the task page. Typing is Playwright's `fill`, so a
   human's typing time is not in it. Prints the requests (round trips) each run made and where the time went.

Exit status 1 when a budget is missed (everything is still printed).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._harness import Gunicorn, ServerConfig, database_drop, database_recreate, dsn_for  # noqa: E402
from tests.e2e.phone import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402

# The slow link: DevTools adds `latency` to every request (a round trip) and paces bodies at these byte rates.
LATENCY_MS = 400
THROUGHPUT_BYTES_PER_S = 400_000 // 8  # 400 kbit/s
NETWORK = {
    "offline": False,
    "latency": LATENCY_MS,
    "downloadThroughput": THROUGHPUT_BYTES_PER_S,
    "uploadThroughput": THROUGHPUT_BYTES_PER_S,
}
SUBMIT_BUDGET_MS = 600
COLD_START_BUDGET_MS = 2000
TIMEOUT_MS = 30_000  # a few round trips at 400 ms each, with plenty to spare
PASSWORD = "bench-Pass-word-42"
DB_NAME = "crowdloop_bench_browser"
HOST = "127.0.0.1"
TASK_PATH = re.compile(r"^/work/assignments/(\d+)/$")

# True once the next task is usable: the address and the form name another assignment than `old`, and the form's
# first answer choice takes room on the page. Evaluated on every animation frame in the page.
USABLE_JS = """(old) => {
  if (location.pathname === old) return false;
  const form = document.getElementById("answer-form");
  if (!form || new URL(form.action).pathname !== location.pathname) return false;
  const choice = form.querySelector("input[name^='item-']");
  if (!choice) return false;
  const box = choice.getBoundingClientRect();
  return box.width > 0 && box.height > 0;
}"""


# ---------------------------------------------------------------------------------------------------
# results


@dataclass
class Series:
    name: str
    budget_ms: float | None = None
    values_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values_ms)

    def line(self) -> str:
        text = (
            f"{self.name:26s} median {self.median:5.0f} ms  min {min(self.values_ms):5.0f}"
            f"  max {max(self.values_ms):5.0f}  (n={len(self.values_ms)})"
        )
        if self.budget_ms:
            text += f"  (budget {self.budget_ms:.0f} ms: {self.median / self.budget_ms:.2f})"
        return text


# ---------------------------------------------------------------------------------------------------
# server and data


def _django_setup(env: dict[str, str]) -> None:
    import warnings

    os.environ.update(env)
    # Production settings serve static files through WhiteNoise; the bench never collects them (no page here
    # links a static file: their CSS and JS are inline).
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def seed(*, submit_workers: int, cold_workers: int, items: int) -> tuple[list[str], list[str], int]:
    """An organization, one launched two-items-per-task campaign and workers who accepted the terms, all with the
    same usable password. Returns (usernames for the submit runs, usernames for the cold starts, campaign id)."""
    from django.contrib.auth.hashers import make_password

    from tests import factories
    from workers.models import User

    organization = factories.OrganizationFactory(name="Bench browser NGO")
    campaign = factories.campaign(
        organization=organization,
        launch=True,
        items=items,
        items_per_task=2,
        redundancy=1,
        max_redundancy=1,
        name="Bench browser",
    )
    submit = [f"bench-submit-{i}" for i in range(submit_workers)]
    cold = [f"bench-cold-{i}" for i in range(cold_workers)]
    for username in submit + cold:
        factories.worker(username=username, organization=organization)
    # One hash for all: the password hasher is slow on purpose, and the server checks it at each sign-in anyway.
    User.objects.filter(username__in=submit + cold).update(password=make_password(PASSWORD))
    return submit, cold, campaign.id


def password_check_ms() -> float:
    """How long the server's password hasher takes for one sign-in, measured in this process (same settings)."""
    from django.contrib.auth.hashers import check_password, make_password

    hashed = make_password(PASSWORD)
    started = time.perf_counter()
    check_password(PASSWORD, hashed)
    return (time.perf_counter() - started) * 1000


# ---------------------------------------------------------------------------------------------------
# browser


def phone(browser: Any, *, javascript: bool = True, cache: bool = True) -> tuple[Any, Any, Any]:
    """A fresh phone context (own cookies and cache) with one page on the slow link; (context, page, cdp)."""
    context = browser.new_context(**PHONE, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    if not cache:
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    return context, page, cdp


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/", wait_until="domcontentloaded")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    # The sign-in's answer is the work home itself (the page then puts /work/ in the address bar).
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.locator("form button[type=submit]").first.tap()
    page.locator("#work-home").wait_for(state="visible")


def is_task_url(url: str) -> bool:
    return bool(TASK_PATH.match(urlsplit(url).path))


def start_task(page: Any) -> None:
    """Tap Start: its answer is the task page itself (the address stays /work/next/ until the page's script
    replaces it with the task's own, and stays there without the script)."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name="Start", exact=True).tap()
    page.locator("#answer-form input[name^='item-']").first.wait_for(state="visible")


def answer_all(page: Any) -> None:
    """Chooses the first label of every item on the task page."""
    for fieldset in page.locator("#answer-form fieldset").all():
        fieldset.locator("input[name^='item-']").first.tap()


def describe(request: Any) -> str:
    """One request as `METHOD /path status (type, body size on the wire)`; waits for its response."""
    response = request.response()
    inline = ", X-Crowdloop-Inline" if request.headers.get("x-crowdloop-inline") == "1" else ""
    if response is None:
        return f"{request.method} {urlsplit(request.url).path} failed ({request.resource_type}{inline})"
    size = request.sizes()["responseBodySize"]
    encoding = response.all_headers().get("content-encoding", "not compressed")
    return (
        f"{request.method} {urlsplit(request.url).path} {response.status}"
        f" ({request.resource_type}{inline}, {size / 1024:.1f} KB body, {encoding})"
    )


def task_path(page: Any) -> str:
    """The task on the screen: its address, or (a page that came as Start's answer, without the script) the
    address its form posts to."""
    path = urlsplit(page.url).path
    if TASK_PATH.match(path):
        return path
    action = page.locator("#answer-form").get_attribute("action") or ""
    if TASK_PATH.match(action):
        return action
    raise RuntimeError(f"expected a task page, the phone shows {page.url}")


@dataclass
class SubmitMode:
    name: str
    javascript: bool
    ahead: bool  # wait for the next task fetched ahead before tapping (else that fetch is blocked)
    context: Any = None
    page: Any = None
    cdp: Any = None
    last_requests: list[str] = field(default_factory=list)  # those sent during the last timed submit


def submit_setup(browser: Any, base: str, mode: SubmitMode, username: str) -> None:
    mode.context, mode.page, mode.cdp = phone(browser, javascript=mode.javascript)
    if mode.javascript and not mode.ahead:
        # Blocked inside the browser, so no request interception (which would add a hop to every request).
        mode.cdp.send("Network.setBlockedURLs", {"urls": ["*/ahead/"]})
    sign_in(mode.page, base, username)
    start_task(mode.page)


def submit_once(mode: SubmitMode) -> float:
    """One "Submit and next" on a task page freshly reached; milliseconds from the tap to the next task usable."""
    page = mode.page
    if mode.ahead:
        # The answers of the previous run went behind the page shown: wait until they are stored, then load the
        # task afresh so its script sees it as the current one (not queued) and fetches the next one ahead.
        page.wait_for_function("() => (localStorage.getItem('crowdloop-pending') || '[]') === '[]'")
        page.reload(wait_until="domcontentloaded")
        fieldsets = page.locator("#answer-form fieldset").all()
        with page.expect_response(lambda r: r.url.endswith("/ahead/")) as fetched:
            fieldsets[0].locator("input[name^='item-']").first.tap()
        if fetched.value.status != 200:
            raise RuntimeError(f"the next task was not fetched ahead (status {fetched.value.status})")
        for fieldset in fieldsets[1:]:
            fieldset.locator("input[name^='item-']").first.tap()
    else:
        answer_all(page)
    old = task_path(page)
    button = page.get_by_role("button", name="Submit and next")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    sent: list[Any] = []

    def on_request(request: Any) -> None:  # a function: Playwright cannot wrap a bound builtin like list.append
        sent.append(request)

    page.on("request", on_request)
    started = time.perf_counter()
    page.touchscreen.tap(x, y)  # touch events straight to the page: no actionability checks inside the timing
    if mode.javascript:
        page.wait_for_function(USABLE_JS, arg=old, polling="raf")
    else:
        page.wait_for_url(
            lambda url: urlsplit(url).path != old and is_task_url(url),
            wait_until="domcontentloaded",
        )
    elapsed = (time.perf_counter() - started) * 1000
    page.remove_listener("request", on_request)
    # With the answers sent behind the page shown, the window may hold that send too: listed, not waited for.
    mode.last_requests = [describe(request) for request in sent]
    new = task_path(page)
    action = page.locator("#answer-form").get_attribute("action")
    if new == old or action != new or not page.locator("#answer-form input[name^='item-']").first.is_visible():
        raise RuntimeError(f"{mode.name}: not on a new usable task ({old} -> {new}, form action {action})")
    return elapsed


@dataclass
class ColdStart:
    total_ms: float
    steps_ms: dict[str, float]
    requests: list[str]


def cold_start_once(browser: Any, base: str, username: str) -> ColdStart:
    context, page, _ = phone(browser, cache=False)
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    steps: dict[str, float] = {}
    try:
        started = time.perf_counter()

        def mark(name: str) -> None:
            steps[name] = (time.perf_counter() - started) * 1000

        page.goto(f"{base}/accounts/login/", wait_until="domcontentloaded")
        mark("sign-in form shown")
        page.locator("input[name=login]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("form button[type=submit]").first.tap()
        page.locator("#work-home").wait_for(state="visible")
        mark("work home shown")
        start_task(page)
        page.locator("#answer-form input[name^='item-']").first.wait_for(state="visible")
        total = (time.perf_counter() - started) * 1000
        steps["task page usable"] = total
        requests = [describe(request) for request in sent]
    finally:
        context.close()
    if failed:
        raise RuntimeError(f"cold start: requests failed: {failed}")
    return ColdStart(total, steps, requests)


# ---------------------------------------------------------------------------------------------------
# main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each measurement (after one warm-up)")
    parser.add_argument("--server", default="gthread:2x4", help="gunicorn setup: sync:N or gthread:NxT")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"),
        help="the database to DROP, create and use (never point it at one you care about)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    args = parser.parse_args(argv)
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        print(f"needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    db_name = urlsplit(args.database_url).path.lstrip("/") or DB_NAME
    dsn = dsn_for(args.database_url, db_name)
    env = {
        # The settings real phones are served with, minus HTTPS (plain HTTP on the loopback here).
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": dsn,
        "REDIS_URL": args.redis_url,
        "DB_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }
    modes = [
        SubmitMode("submit_and_next_js", javascript=True, ahead=False),
        SubmitMode("submit_and_next_js_ahead", javascript=True, ahead=True),
        SubmitMode("submit_and_next_nojs", javascript=False, ahead=False),
    ]
    runs = args.runs + 1  # the first run of each measurement warms the server and the browser and is not counted
    print(
        f"browser bench: {LATENCY_MS} ms round trip, {THROUGHPUT_BYTES_PER_S * 8 // 1000} kbit/s down and up,"
        f" {args.runs} runs (+1 warm-up), gunicorn {args.server}; {os.cpu_count()} CPUs,"
        f" load {os.getloadavg()[0]:.2f}"
    )

    import redis

    redis_client = redis.Redis.from_url(args.redis_url)
    redis_client.flushdb()
    database_recreate(dsn, db_name)
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )
        _django_setup(env)
        # Each submit run uses one task per mode, plus the ones fetched ahead; each cold start one.
        submit_users, cold_users, _ = seed(
            submit_workers=len(modes), cold_workers=runs, items=2 * (len(modes) * 2 + 1) * runs + 100
        )
        hashing_ms = password_check_ms()
        from django.db import connections

        connections.close_all()
        log = Path(tempfile.gettempdir()) / f"{db_name}-gunicorn.log"
        server = Gunicorn(
            app_dir=str(ROOT),
            python_bin=sys.executable,
            config=ServerConfig.parse(args.server),
            env=env,
            log_path=str(log),
        )
        server.wait_healthy(host_header=HOST)
        base = f"http://{HOST}:{server.port}"

        # Every variant is shown against the budget; the verdict is on the one-round-trip path (see the docstring).
        series = {mode.name: Series(mode.name, SUBMIT_BUDGET_MS) for mode in modes}
        cold = Series("cold_start", COLD_START_BUDGET_MS)
        # The same runs, counted from the moment the sign-in form is on the screen (the worker signs in there).
        cold_form = Series("cold_start_from_form", COLD_START_BUDGET_MS)
        cold_runs: list[ColdStart] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
            try:
                for mode, username in zip(modes, submit_users, strict=True):
                    submit_setup(browser, base, mode, username)
                # Interleaved, so a slow moment of the machine falls on every measurement alike.
                for run in range(runs):
                    for mode in modes:
                        elapsed = submit_once(mode)
                        if run:
                            series[mode.name].values_ms.append(elapsed)
                    result = cold_start_once(browser, base, cold_users[run])
                    if run:
                        cold.values_ms.append(result.total_ms)
                        cold_form.values_ms.append(result.total_ms - result.steps_ms["sign-in form shown"])
                        cold_runs.append(result)
            finally:
                for mode in modes:
                    if mode.context:
                        mode.context.close()
                browser.close()
    finally:
        if server:
            server.stop()
        from django.db import connections

        connections.close_all()
        redis_client.flushdb()
        if not args.keep_db:
            database_drop(dsn, db_name)

    print()
    for mode in modes:
        print(series[mode.name].line())
        for line in mode.last_requests:
            print(f"{'':28s}{line}")
    js, nojs = series["submit_and_next_js"], series["submit_and_next_nojs"]
    print(f"{'baseline ratio':26s} no-JS / JS (one round trip) = {nojs.median / js.median:.2f}")
    print(f"{'':26s} no-JS / JS (fetched ahead)  = {nojs.median / series['submit_and_next_js_ahead'].median:.2f}")
    print()
    print(cold.line())
    print(cold_form.line())
    counts = sorted({len(r.requests) for r in cold_runs})
    print(f"{'':26s} requests (round trips) per run: {', '.join(map(str, counts))}")
    step_names: list[str] = list(cold_runs[0].steps_ms)
    previous = 0.0
    for name in step_names:
        at = statistics.median(r.steps_ms[name] for r in cold_runs)
        print(f"{'':26s} {name:20s} at {at:5.0f} ms median (+{at - previous:4.0f})")
        previous = at
    print(f"{'':26s} requests of the last run:")
    for line in cold_runs[-1].requests:
        print(f"{'':28s}{line}")
    floor = len(cold_runs[-1].requests) * LATENCY_MS
    print(f"{'':26s} latency alone: {len(cold_runs[-1].requests)} round trips x {LATENCY_MS} ms = {floor} ms")
    print(f"{'':26s} one password check on the server (this machine, same hasher): {hashing_ms:.0f} ms")

    print()
    missed = []
    for judged in (js, cold, cold_form):
        verdict = "PASS" if judged.median <= judged.budget_ms else "FAIL"
        print(f"{verdict} {judged.name}: median {judged.median:.0f} ms, budget {judged.budget_ms:.0f} ms")
        if verdict == "FAIL":
            missed.append(judged.name)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
