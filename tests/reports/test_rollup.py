"""The day rollups (reports/rollup.py): always the sums of the summary rows they cover, and the
dashboard's figures from them equal those from the rows, for every filter."""

import pytest
import time_machine
from django.db import connection
from django.db.models import Count

from reports import rollup
from reports.facts import facts_rebuild
from reports.forms import OWN_STAFF, Filters
from reports.models import DayRollup, WorkOrderFact
from reports.selectors import leaderboard, rollup_grain, summary, tuned, volume
from reports.tasks import reports_facts_sweep
from tests.reports.conftest import NOW, Story, at
from tests.reports.helpers import dashboard, kpi

WEEK = (at(3, 3, 0).date(), at(3, 9, 0).date())


def _differences() -> list:
    """Rollup rows that differ from the sums of the summary rows (both ways)."""
    with connection.cursor() as cursor:
        cursor.execute(rollup.check_sql())
        return cursor.fetchall()


def _figures(f: Filters, grain):
    with tuned():
        return summary(f, now=NOW, grain=grain), volume(f, grain=grain), leaderboard(f, grain=grain)


def test_the_rollups_equal_the_rows_they_sum_after_create_complete_and_reopen(
        manager_client, week, django_capture_on_commit_callbacks):
    assert DayRollup.objects.exists() and _differences() == []
    page = dashboard(manager_client).content.decode()
    total, new = int(kpi(page, "volume-total")), int(kpi(page, "status-count", status="new"))
    met = int(kpi(page, "sla-first_response-met"))
    s = Story(week.service_type, week.manager)

    with django_capture_on_commit_callbacks(execute=True):
        wo = s.create(at(3, 7, 9))  # the row is written with the order, in its statement
    assert _differences() == []
    page = dashboard(manager_client).content.decode()
    assert int(kpi(page, "volume-total")) == total + 1
    assert int(kpi(page, "status-count", status="new")) == new + 1

    with django_capture_on_commit_callbacks(execute=True):
        s.assign(wo, at(3, 7, 9, 5), week.t1, at(3, 7, 10), at(3, 7, 11))
        s.visit(wo, week.t1, accept=at(3, 7, 9, 20), arrive=at(3, 7, 10))
        s.step(wo, at(3, 7, 10, 30), "complete", week.t1.user, note="Done.")
    assert _differences() == []
    page = dashboard(manager_client).content.decode()
    assert int(kpi(page, "sla-first_response-met")) == met + 1
    assert int(kpi(page, "status-count", status="new")) == new

    with django_capture_on_commit_callbacks(execute=True):
        s.step(wo, at(3, 7, 15), "reopen", week.manager, note="It stopped again.")
    assert _differences() == []
    assert WorkOrderFact.objects.get(pk=wo.pk).reopened
    assert int(kpi(dashboard(manager_client).content.decode(), "status-count", status="new")) == new + 1

    facts_rebuild()  # a rebuild rewrites every row: the rollups still agree
    assert _differences() == []


def test_writers_append_and_the_sweep_adds_each_day_up_into_one_row_with_the_same_figures(
        week, django_capture_on_commit_callbacks):
    s = Story(week.service_type, week.manager)
    with django_capture_on_commit_callbacks(execute=True):
        for minute in (0, 10, 20):  # three creates of one day and service type: three rows appended
            s.create(at(3, 7, 9, minute))
    key = {"grain": DayRollup.BY_TYPE, "created_day": at(3, 7, 0).date(), "status": "new",
           "service_type_id": week.service_type.pk}
    assert DayRollup.objects.filter(**key).count() > 1
    f = Filters(*WEEK)
    with time_machine.travel(NOW, tick=False):
        before = _figures(f, "auto")
        rollup.compact()
        assert DayRollup.objects.filter(**key).count() == 1
        assert _figures(f, "auto") == before == _figures(f, None)
    assert _differences() == []
    # The sweep compacts too: after it, one row per key.
    reports_facts_sweep.apply().get()
    assert not DayRollup.objects.values(*rollup.KEY).annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert _differences() == []


def test_deleting_or_truncating_summary_rows_takes_them_out_of_the_rollups(week):
    WorkOrderFact.objects.filter(pk=week.a.pk).delete()
    assert _differences() == []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE reports_workorderfact")
    assert not DayRollup.objects.exists()


def test_a_write_that_changes_no_figure_leaves_the_rollups_alone(week):
    before = list(DayRollup.objects.order_by("pk").values())
    WorkOrderFact.objects.filter(pk=week.a.pk).update(repeat_failure=True, revenue=10)
    assert list(DayRollup.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("filters", [
    {}, {"service_type": True}, {"technician": True}, {"partner": True}, {"own": True},
    {"service_type": True, "technician": True},
])
def test_the_figures_from_the_rollups_equal_those_from_the_rows(week, filters):
    f = Filters(
        *WEEK,
        service_type_id=week.service_type.pk if filters.get("service_type") else None,
        technician_id=week.t1.pk if filters.get("technician") else None,
        partner=(week.t2.partner_company_id if filters.get("partner") else OWN_STAFF if filters.get("own") else None),
    )
    grain = rollup_grain(f)
    with time_machine.travel(NOW, tick=False):
        from_rows = _figures(f, None)
        from_rollups = _figures(f, "auto")
    assert from_rollups == from_rows
    assert grain == (None if filters.get("service_type") and len(filters) > 1 else
                     DayRollup.BY_TYPE if set(filters) <= {"service_type"} else DayRollup.BY_TECHNICIAN)
    assert from_rows[0].total > 0
