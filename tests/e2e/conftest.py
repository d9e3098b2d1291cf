"""Browser tests: headless Chromium from Debian (/usr/bin/chromium), driven by Playwright.

- The browser is Debian's, launched through pytest-playwright's ``browser_type_launch_args``
  (no browser download). Without it the tests skip with the reason, except under CI
  (``CI=true``), where a missing browser is a failure: CI always runs them.
- The application is Django's ``live_server`` on 127.0.0.1 (each test gets a transactional
  database, flushed afterwards).
- Playwright's sync API keeps an asyncio loop marked as running in the main thread while it is
  started, and Django refuses database calls from a thread with a running loop
  (SynchronousOnlyOperation). So Playwright lives only as long as this package's tests: the
  plugin's session-wide ``playwright``/``browser`` fixtures are replaced by package-scoped ones
  that stop it when the last browser test is done, and DJANGO_ALLOW_ASYNC_UNSAFE is set for
  exactly that time. The tests after these run as if no browser had been started.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .support import AXE_JS, BROWSER_LOCALES, CSP_LISTENER, DESKTOP, PHONE, Person, Screenshots, axe_serious, screenshots_root

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _require(path: Path | str, what: str, how: str) -> None:
    if os.path.exists(path):
        return
    message = f"{what} not found at {path} ({how})"
    if _in_ci():
        pytest.fail(f"{message}; CI runs the browser tests, so this is a failure", pytrace=False)
    pytest.skip(message)


# --- Playwright, for the duration of this package ---------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require(CHROMIUM, "Chromium", "apt-get install -y chromium, or set E2E_CHROMIUM")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="package")
def playwright(browser_type_launch_args):
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name or "chromium")


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args, browser_type):
    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(playwright):
    return {}


# --- The application and the people using it ---------------------------------------------


@pytest.fixture(scope="package")
def live_server(request):
    """pytest-django's live server, on 127.0.0.1 (the one host pages may load from), for this package.

    The server builds its middleware once, when it starts, so it starts with the settings of a
    plain-HTTP site on loopback (no redirect to HTTPS), whatever a test changes later.
    """
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    address = request.config.getvalue("liveserver") or "127.0.0.1"
    with override_settings(SECURE_SSL_REDIRECT=False):
        server = LiveServer(address)
    yield server
    server.stop()


@pytest.fixture
def site(live_server, settings):
    """The running application, set up as in production where it matters to a browser."""
    settings.PUBLIC_BASE_URL = live_server.url  # links in messages point at this server
    settings.LANGUAGE_CODE = "zh-hans"  # the production default (the suite's unit tests use "en")
    # Plain HTTP on loopback: cookies without the Secure flag, or the browser would not send them back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.PUBLIC_FORM_RATE = "1000/m"  # not what these tests check; repeated runs must not hit it
    return live_server


@pytest.fixture
def people(new_context, site):
    """``people.open(name, device, language)``: a new browser (context) for one person."""
    opened: list[Person] = []

    class People:
        all = opened

        def open(self, name: str, device: str, language: str, **options) -> Person:
            size = PHONE if device == "phone" else DESKTOP
            args = {
                "base_url": site.url,
                "viewport": size,
                "locale": BROWSER_LOCALES[language],
                "timezone_id": "Asia/Shanghai",
                **({"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if device == "phone" else {}),
                **options,
            }
            context = new_context(**args)
            context.set_default_timeout(15_000)
            context.add_init_script(CSP_LISTENER)
            page = context.new_page()
            person = Person(name=name, device=device, context=context, page=page)
            context.on("request", lambda request: person.requests.append(request.url))
            page.on("pageerror", lambda error: person.script_errors.append(f"{page.url}: {error}"))

            def on_console(message):
                # The page's own report (CSP_LISTENER), and Chromium's "Refused to ..." for what it blocked.
                text = message.text
                if text.startswith("CSP violation:") or "Content Security Policy" in text:
                    person.csp_violations.append(f"{page.url}: {text}")

            page.on("console", on_console)
            opened.append(person)
            return person

    return People()


@pytest.fixture
def axe():
    """``axe(page)``: axe-core's critical and serious violations on the page (axe-core from npm)."""
    _require(AXE_JS, "axe-core", "make install runs npm ci")
    return axe_serious


_shots_taken: list[tuple[str, Path, int]] = []


@pytest.fixture
def screenshots(request):
    """Screenshots of this test's steps, in <E2E_SCREENSHOTS_DIR or var/e2e-screenshots>/<test name>/."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shots = Screenshots(screenshots_root() / name)
    yield shots
    _shots_taken.append((request.node.nodeid, shots.folder, len(shots.files())))


def pytest_terminal_summary(terminalreporter):
    if not _shots_taken:
        return
    terminalreporter.section("browser screenshots")
    for nodeid, folder, count in _shots_taken:
        terminalreporter.write_line(f"{count:3d} screenshots  {folder}  ({nodeid})")
