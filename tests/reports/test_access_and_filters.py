"""Who may see the reports, and what bad filters get: a clear message, never a server error."""

import pytest
from django.urls import reverse

from core import roles as R
from tests.factories import UserFactory
from tests.reports.helpers import dashboard, kpi

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [R.TECHNICIAN, R.PARTNER_TECHNICIAN, R.AGENT, R.DISPATCHER])
def test_everyone_but_managers_gets_403_on_the_dashboard_and_the_exports(client, week, role):
    client.force_login(UserFactory(username=f"someone-{role}", roles=[role], is_staff=role != R.TECHNICIAN))

    page = client.get(reverse("reports:dashboard"))
    export = client.get(reverse("reports:export", args=["status", "csv"]))

    assert page.status_code == 403
    assert "Reports are for managers." in page.content.decode()
    assert 'data-kpi="volume-total"' not in page.content.decode()
    assert export.status_code == 403


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page(client, week):
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_managers_and_superusers_see_the_dashboard_and_managers_find_it_in_the_menu(client, week):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert dashboard(client).status_code == 200

    client.force_login(week.manager)
    response = dashboard(client)
    assert response.status_code == 200
    assert f'href="{reverse("reports:dashboard")}"' in response.content.decode()


def test_the_reports_link_is_not_in_the_menu_of_an_agent(client, week):
    client.force_login(UserFactory(username="desk", roles=[R.AGENT], is_staff=True))
    response = client.get(reverse("staff:list"))
    assert response.status_code == 200
    assert f'href="{reverse("reports:dashboard")}"' not in response.content.decode()


def test_with_no_dates_the_last_30_days_are_shown(manager_client, week):
    response = manager_client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert len([1 for line in html.split('data-kpi="daily-total"')[1:]]) == 30


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({"from": "2025-02-30"}, "from", "Enter a date as YYYY-MM-DD."),
        ({"to": "yesterday"}, "to", "Enter a date as YYYY-MM-DD."),
        ({"from": "2025-03-09", "to": "2025-03-03"}, "to", "The end date must not be before the start date."),
        ({"from": "2020-01-01", "to": "2025-03-03"}, "to", "Choose a range of at most 400 days."),
        ({"service_type": "999999"}, "st", "Unknown service type."),
        ({"service_type": "heater"}, "st", "Unknown service type."),
        ({"partner": "999999"}, "pc", "Unknown partner company."),
        ({"technician": "999999"}, "tech", "Unknown technician."),
        ({"technician": "-1"}, "tech", "Unknown technician."),
        ({"technician": "9" * 40}, "tech", "Unknown technician."),
    ],
    ids=["impossible-date", "not-a-date", "reversed", "too-long", "unknown-type", "type-not-a-number",
         "unknown-partner", "unknown-technician", "negative-id", "huge-id"],
)
def test_bad_filters_get_a_message_next_to_the_field_and_no_figures(manager_client, week, params, field, message):
    query = {"from": "2025-03-03", "to": "2025-03-09", **params}
    response = manager_client.get(reverse("reports:dashboard"), query)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'<ul class="errorlist" id="e-{field}"><li>{message}</li></ul>' in html
    assert 'data-kpi="volume-total"' not in html


def test_an_export_with_bad_filters_says_what_is_wrong(manager_client, week):
    response = manager_client.get(reverse("reports:export", args=["status", "xlsx"]), {"technician": "999999"})
    assert response.status_code == 400
    assert "Technician: Unknown technician." in response.content.decode()


def test_an_unknown_table_or_format_is_not_found(manager_client, week):
    assert manager_client.get("/reports/export/salaries.csv").status_code == 404
    assert manager_client.get("/reports/export/status.pdf").status_code == 404


def test_the_filters_are_kept_in_the_form_and_the_export_links(manager_client, week):
    response = dashboard(manager_client, technician=week.t2.pk)
    html = response.content.decode()
    assert f'<option value="{week.t2.pk}" selected>' in html
    assert f"/reports/export/leaderboard.xlsx?from=2025-03-03&amp;to=2025-03-09&amp;technician={week.t2.pk}" in html
    assert kpi(html, "volume-total") == "1"
