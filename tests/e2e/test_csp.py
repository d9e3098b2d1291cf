"""The site's Content-Security-Policy in a real browser: the pages outside the journey keep it too.

The journey (test_journey.py) checks the customer's, dispatcher's, technician's and manager's
pages. Here: the admin (master data), the API's docs (Swagger UI and ReDoc, from the packages
that ship them) and the dispatch board with a map tile server on another host. And first, that
the check itself sees a violation when there is one.
"""

from __future__ import annotations

import pytest

from core import roles as R
from tests.factories import CustomerFactory, UserFactory, WorkOrderFactory

from .support import csp_violations

pytestmark = pytest.mark.e2e

PASSWORD = "csp-pass-2468"


@pytest.fixture
def admin_user(site):
    return UserFactory(username="root", password=PASSWORD, is_staff=True, is_superuser=True)


def _log_in(person, path):
    person.page.goto(path)
    if "/admin/login/" not in person.page.url:
        person.log_in("root", PASSWORD)
        return
    person.page.fill("#id_username", "root")  # the admin's own login page
    person.page.fill("#id_password", PASSWORD)
    with person.page.expect_navigation():
        person.page.click("input[type=submit]")
    assert "/admin/login/" not in person.page.url, "login refused"


def test_the_check_sees_a_violation(people, admin_user):
    person = people.open("staff", "desktop", "en")
    person.go("/kb/")

    # An inline style attribute, which the policy refuses
    person.page.evaluate("document.body.setAttribute('style', 'outline: 1px solid red')")
    person.page.wait_for_timeout(200)

    assert any("style-src" in v for v in csp_violations([person])), person.csp_violations


def test_the_admin_works_under_the_policy(people, admin_user):
    customer = CustomerFactory(name="Wang Fang")
    order = WorkOrderFactory(customer=customer)
    person = people.open("admin", "desktop", "en")
    _log_in(person, "/admin/")

    for path in ["/admin/", "/admin/customers/customer/", "/admin/customers/customer/add/",
                 f"/admin/customers/customer/{customer.pk}/change/", f"/admin/workorders/workorder/{order.pk}/change/",
                 "/admin/technicians/technician/add/"]:
        person.go(path)
    # The admin's own scripts ran: the "add another" link of an inline appears only through them
    person.go("/admin/customers/customer/add/")
    person.page.wait_for_selector(".add-row a", state="attached")
    # And the search filter of a change list answers
    person.go("/admin/customers/customer/?q=Wang")
    assert "Wang Fang" in person.page.content()

    assert csp_violations(people.all) == []
    assert person.script_errors == []


def test_the_api_docs_work_under_the_policy(people, site):
    UserFactory(username="root", password=PASSWORD, roles=[R.AGENT])
    person = people.open("integrator", "desktop", "en")
    _log_in(person, "/api/docs/")

    # Swagger UI draws the operations from the schema
    person.page.wait_for_selector("#swagger-ui .opblock", timeout=20_000)
    assert "/api/v1/work-orders/" in person.page.inner_text("#swagger-ui")
    assert csp_violations(people.all) == []
    # ReDoc too (its own, relaxed policy: inline styles it writes itself, a blob: worker)
    person.go("/api/redoc/")
    person.page.wait_for_selector("text=/api/v1/work-orders/", timeout=20_000)

    # ReDoc's bundle shows its maker's logo from the maker's server, with no option to leave it out:
    # the policy keeps that request from leaving the site (the logo hides itself), and nothing else is refused.
    refused = csp_violations(people.all)
    assert refused and all("img-src" in v and "https://cdn.redoc.ly/" in v for v in refused), refused
    assert person.script_errors == []


def test_the_dispatch_board_shows_tiles_from_the_tile_server(people, site, settings):
    # Given map tiles from another host (here localhost, which is not 127.0.0.1 to the browser)
    port = site.url.rsplit(":", 1)[1]
    settings.DISPATCH_TILE_URL = f"http://localhost:{port}/static/leaflet/images/layers.png?{{z}}/{{x}}/{{y}}"
    UserFactory(username="root", password=PASSWORD, roles=[R.DISPATCHER])
    person = people.open("dispatcher", "desktop", "en")
    tiles = []
    person.page.on("requestfinished", lambda request: tiles.append(request.url) if "layers.png?" in request.url else None)

    _log_in(person, "/dispatch/")
    person.page.wait_for_selector(".leaflet-tile-loaded", timeout=15_000)

    assert tiles and all(url.startswith(f"http://localhost:{port}/") for url in tiles)
    assert csp_violations(people.all) == []
