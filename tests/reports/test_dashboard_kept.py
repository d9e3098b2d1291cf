"""The dashboard's figures kept a minute in the shared cache (reports/selectors.py dashboard_kept):
a second manager gets the figures the first one had worked out, with the time they were worked
out on the page; the reports sweep works the default page out afresh; other filters and the other
language are kept apart; with REPORTS_DASHBOARD_CACHE_SECONDS = 0 every page works them out."""

import pytest
import time_machine
from django.core.cache import cache

from reports.tasks import reports_facts_sweep
from tests.factories import UserFactory
from tests.reports.conftest import NOW, Story, at
from tests.reports.helpers import dashboard, kpi
from core import roles as R

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings):
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 90
    cache.clear()
    yield
    cache.clear()


def _default_page(client):
    """The page a manager opens first: no filter (the last 30 days up to the tests' "now")."""
    with time_machine.travel(NOW, tick=False):
        return client.get("/reports/")


def test_a_second_manager_gets_the_kept_figures_until_the_sweep_works_them_out_again(client, week, kept):
    client.force_login(week.manager)
    first = _default_page(client).content.decode()
    orders = int(kpi(first, "volume-total"))  # the week's orders and the later ones of the 30 days
    assert orders >= 7
    assert 'id="figures-as-of" data-as-of="2025-03-20T12:00:00+08:00"' in first
    assert "Figures as of 12:00" in first

    # A new order comes in; another manager opens the same page a little later.
    Story(week.service_type, week.manager).create(at(3, 19, 9))
    other = UserFactory(username="boss2", roles=[R.MANAGER])
    client.force_login(other)
    with time_machine.travel(at(3, 20, 12, 0).replace(second=40), tick=False):
        second = client.get("/reports/").content.decode()
    assert kpi(second, "volume-total") == str(orders)  # the kept figures, and the page says how old
    assert "Figures as of 12:00" in second

    # The reports sweep (beat, every minute) works the default page out afresh.
    with time_machine.travel(at(3, 20, 12, 1), tick=False):
        reports_facts_sweep()
        third = client.get("/reports/").content.decode()
    assert kpi(third, "volume-total") == str(orders + 1)
    assert "Figures as of 12:01" in third


def test_other_filters_and_the_other_language_are_kept_apart(manager_client, week, kept):
    everyone = dashboard(manager_client).content.decode()
    partner = dashboard(manager_client, technician=week.t2.pk).content.decode()
    assert kpi(everyone, "volume-total") == "7"
    assert kpi(partner, "volume-total") == "1"  # C only

    manager_client.cookies["django_language"] = "zh-hans"
    chinese = dashboard(manager_client).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert kpi(chinese, "volume-total") == "7"
    assert "First response" not in chinese  # the SLA targets' names worked out in Chinese
    assert "First response" in everyone


def test_without_keeping_every_page_works_the_figures_out(manager_client, week, settings):
    settings.REPORTS_DASHBOARD_CACHE_SECONDS = 0
    assert kpi(dashboard(manager_client).content.decode(), "volume-total") == "7"
    Story(week.service_type, week.manager).create(at(3, 5, 11))
    assert kpi(dashboard(manager_client).content.decode(), "volume-total") == "8"


def test_figures_kept_by_another_release_that_cannot_be_read_are_worked_out_again(manager_client, week, kept,
                                                                                   monkeypatch):
    import pickle

    from reports import selectors

    get = selectors.cache.get

    def unreadable(key, *args, **kwargs):
        if key.startswith("reports:dashboard:"):
            raise pickle.UnpicklingError(f"no class for {key}")
        return get(key, *args, **kwargs)

    monkeypatch.setattr(selectors.cache, "get", unreadable)
    response = dashboard(manager_client)
    assert response.status_code == 200
    assert kpi(response.content.decode(), "volume-total") == "7"
