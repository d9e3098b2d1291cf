"""In a real browser: the customer types the problem on /request/, the suggestions appear, the
customer opens one and still sends the request; the page records both."""

import os
import shutil

import pytest
from pytest_django.live_server_helper import LiveServer

from knowledge.models import Article, Audience, SuggestionOutcome
from knowledge.services import article_create
from tests.factories import ServiceTypeFactory
from workorders.models import WorkOrder

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.e2e]


@pytest.fixture(autouse=True)
def _chromium():
    """Skipped with its reason where Chromium is missing; a failure under CI, which runs the browser tests."""
    if shutil.which("chromium"):
        return
    message = "needs Chromium (apt-get install -y chromium)"
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI runs the browser tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Every test request comes from 127.0.0.1: start each test with no count."""


@pytest.fixture
def server(settings, transactional_db):
    """A server of its own, started after this test's settings (plain HTTP, no SSL redirect):
    its middleware reads them when it starts, which pytest-django's session-wide one may have
    done before any test changed them."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    live = LiveServer("127.0.0.1:0")
    yield live
    live.stop()


def test_a_customer_sees_suggestions_opens_one_and_still_submits(server):
    aircon = ServiceTypeFactory(code="ac-repair", name="Air conditioner repair")
    helpful = article_create(actor=None, title="Aircon leaking water", body="Clean the drain hose.",
                             summary="Usually a blocked drain hose.", service_types=[aircon], published=True)
    other = article_create(actor=None, title="Aircon drips after cleaning", body="Leaking water from the filter.",
                           published=True)
    internal = article_create(actor=None, title="Aircon leaking: refrigerant line check", body="Leaking water.",
                              audience=Audience.TECHNICIAN, service_types=[aircon], published=True)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        try:
            context = browser.new_context(locale="en-US")
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.goto(f"{server.url}/request/")
            page.fill("#id_contact_name", "Wang Fang")
            page.fill("#id_contact_phone", "138 1234 5678")
            page.fill("#id_address", "88 Century Avenue, Pudong, Shanghai")
            page.select_option("#id_service_type", str(aircon.pk))
            page.fill("#id_description", "The aircon is leaking water")

            box = page.locator(".kb-suggest")
            box.get_by_role("link", name=helpful.title).wait_for()
            assert box.get_by_text("These may solve it:").is_visible()
            titles = box.get_by_role("link").all_inner_texts()
            assert titles[0] == helpful.title and other.title in titles and internal.title not in titles

            with context.expect_page() as opened:
                box.get_by_role("link", name=helpful.title).click()
            article_page = opened.value
            article_page.wait_for_load_state()
            assert article_page.locator("h1").inner_text() == helpful.title
            article_page.close()
            # The form kept what was typed and goes on to send the request
            assert page.input_value("#id_description") == "The aircon is leaking water"
            page.get_by_role("button", name="Send request").click()
            page.wait_for_url("**/request/done/**")
        finally:
            browser.close()

    work_order = WorkOrder.objects.get()
    outcome = SuggestionOutcome.objects.get(work_order_ref=work_order.pk)
    assert set(outcome.shown.values_list("pk", flat=True)) == {helpful.pk, other.pk}
    assert list(outcome.opened.values_list("pk", flat=True)) == [helpful.pk]
    assert Article.objects.get(pk=helpful.pk).suggestion_opens == 1
