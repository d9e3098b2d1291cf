"""The summary table: kept live after each commit, rebuilt by the Celery task, and equal to the raw data."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Avg, Count, Q

from completion.models import CompletionReport
from reports import selectors
from reports.facts import _fact, _upsert, facts_refresh
from reports.forms import Filters
from reports.models import RefreshState, WorkOrderFact
from reports.tasks import reports_facts_sweep
from sla.selectors import SlaCache, policy_for
from tests.factories import WorkOrderFactory
from tests.reports.conftest import NOW, Story, at
from workorders.lifecycle import OPEN_STATES
from workorders.models import Survey, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db

FIELDS = [f.attname for f in WorkOrderFact._meta.fields if f.attname != "refreshed_at"]


def _rows():
    return {row["work_order_id"]: row for row in WorkOrderFact.objects.values(*FIELDS)}


def _run_task():
    """The beat task as a worker runs it (synchronously here)."""
    return reports_facts_sweep.apply().get()


def test_each_transition_refreshes_its_order_right_after_commit(week, django_capture_on_commit_callbacks):
    s = Story(week.service_type, week.manager)
    with django_capture_on_commit_callbacks(execute=True):
        wo = s.create(at(3, 3, 9))
    assert WorkOrderFact.objects.get(pk=wo.pk).status == "new"

    with django_capture_on_commit_callbacks(execute=True):
        s.assign(wo, at(3, 3, 9, 5), week.t1, at(3, 3, 10), at(3, 3, 11))
        s.step(wo, at(3, 3, 9, 40), "accept", week.t1.user)
    fact = WorkOrderFact.objects.get(pk=wo.pk)
    assert (fact.status, fact.first_response_business_s, fact.resolved_at) == ("accepted", 40 * 60, None)
    assert (fact.booked_technician_id, fact.first_response_met) == (week.t1.pk, True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        s.step(wo, at(3, 3, 9, 50), "depart", week.t1.user)
        s.step(wo, at(3, 3, 10), "arrive", week.t1.user)
        s.step(wo, at(3, 3, 12), "complete", week.t1.user, note="Done.")  # and on to follow-up: two events
        s.survey(wo, at(3, 3, 18), satisfaction=4, recommend=7)
    assert len(callbacks) >= 5
    fact = WorkOrderFact.objects.get(pk=wo.pk)
    assert (fact.status, fact.resolution_business_s, fact.satisfaction, fact.first_time_fix) == ("closed", 3 * 3600, 4,
                                                                                                  True)


def test_the_task_rebuilds_exactly_the_rows_the_live_refresh_built(week, django_capture_on_commit_callbacks):
    s = Story(week.service_type, week.manager)
    with django_capture_on_commit_callbacks(execute=True):
        wo = s.create(at(3, 4, 14))
        s.assign(wo, at(3, 4, 14, 5), week.t1, at(3, 5, 9, 30), at(3, 5, 10, 30))
        s.visit(wo, week.t1, accept=at(3, 4, 17, 50), arrive=at(3, 5, 9, 45))
        s.step(wo, at(3, 5, 10), "hold", week.t1.user, note="Part on order.")
        s.step(wo, at(3, 5, 11), "resume", week.t1.user)
        s.step(wo, at(3, 5, 11, 30), "complete", week.t1.user, note="Done.")
    live = _rows()
    WorkOrderFact.objects.all().delete()
    RefreshState.objects.all().delete()

    _run_task()

    assert _rows() == live
    assert live[wo.pk]["resolution_business_s"] == (4 * 3600 + 2.5 * 3600) - 3600  # Tue 14-18, Wed 9-11:30, hold 1 h


def test_the_task_catches_up_orders_written_without_the_services_and_is_idempotent(week):
    # Rows written behind the services' back (a bulk import): no refresh ran for them.
    imported = WorkOrderFactory(service_type=week.service_type)
    assert not WorkOrderFact.objects.filter(pk=imported.pk).exists()

    _run_task()
    first = _rows()
    _run_task()  # reads the last range once more (a late commit would be found now), changes nothing
    _run_task()

    assert first[imported.pk]["status"] == "new"
    assert _rows() == first
    top = WorkOrderEvent.objects.order_by("-id").values_list("id", flat=True).first()
    state = RefreshState.objects.get(name="facts")
    assert (state.done_event_id, state.seen_event_id) == (top, top)


def test_a_refresh_that_read_older_events_never_overwrites_a_newer_row(week):
    fact = WorkOrderFact.objects.get(pk=week.f.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wo.id, 'new', wo.priority, wo.service_type_id, NULL, wo.created_at, NULL, NULL, wo.sla_policy_id,"
            " '', %s, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, wo.customer_id, NULL, NULL, NULL, NULL,"
            " wo.equipment_id, NULL FROM workorders_workorder wo WHERE wo.id = %s",
            [fact.source_event_id - 1, week.f.pk],
        )
        stale = cursor.fetchone()
    _upsert([_fact(stale, SlaCache(), NOW)])

    assert WorkOrderFact.objects.get(pk=week.f.pk).status == "assigned"


def test_a_failed_refresh_after_commit_leaves_the_transition_done(week, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    def broken(ids):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("reports.facts._refresh", broken)
    s = Story(week.service_type, week.manager)
    with django_capture_on_commit_callbacks(execute=True):
        s.step(week.f, at(3, 5, 10), "accept", week.t1.user)
    assert WorkOrder.objects.get(pk=week.f.pk).status == "accepted"
    assert WorkOrderFact.objects.get(pk=week.f.pk).status == "assigned"  # until the task runs


# --- The summary's figures equal those computed straight from the raw tables ---------------


RAW_TIMES = """
WITH o AS (
    SELECT wo.id, wo.created_at,
           min(e.created_at) FILTER (WHERE e.action IN ('accept', 'arrive')) AS first_response,
           min(e.created_at) FILTER (WHERE e.action = 'arrive') AS arrival,
           min(e.created_at) FILTER (WHERE e.action = 'complete') AS resolution
    FROM workorders_workorder wo JOIN workorders_workorderevent e ON e.work_order_id = wo.id
    WHERE wo.service_type_id = %(st)s AND (wo.created_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN %(a)s AND %(b)s
    GROUP BY wo.id, wo.created_at
)
SELECT {columns} FROM o
"""


def _raw_clock_times(service_type_id, first, last) -> dict:
    columns = []
    for target in ("first_response", "arrival", "resolution"):
        seconds = f"extract(epoch FROM {target} - created_at)"
        columns += [f"avg({seconds}) AS {target}_avg",
                    f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) AS {target}_p90",
                    f"count({target}) AS {target}_n"]
    with connection.cursor() as cursor:
        cursor.execute(RAW_TIMES.format(columns=", ".join(columns)), {"st": service_type_id, "a": first, "b": last})
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone()))


def _raw_business_seconds(orders) -> dict:
    """Per target, each order's business seconds, measured with the SLA module's calendar from the events."""
    cache = SlaCache()
    out = {"first_response": [], "arrival": [], "resolution": []}
    for wo in orders:
        policy = policy_for(priority=wo.priority, customer_tier=wo.customer.tier, service_type_id=wo.service_type_id)
        calendar = cache.calendar(policy)
        events = list(wo.events.order_by("id").values_list("action", "created_at"))
        holds = [(at, next(t for a, t in events[i:] if a == "resume")) for i, (a, at) in enumerate(events)
                 if a == "hold"]
        milestones = {
            "first_response": next((t for a, t in events if a in ("accept", "arrive")), None),
            "arrival": next((t for a, t in events if a == "arrive"), None),
            "resolution": next((t for a, t in events if a == "complete"), None),
        }
        for target, reached in milestones.items():
            if reached is not None:
                paused = sum(calendar.between(s, e) for s, e in holds if e <= reached)
                out[target].append(calendar.between(wo.created_at, reached) - paused)
    return out


def test_the_summary_s_figures_equal_those_computed_from_the_raw_tables(week):
    first, last = at(3, 3, 0).date(), at(3, 9, 0).date()
    filters = Filters(date_from=first, date_to=last, service_type_id=week.service_type.pk)
    with time_machine.travel(NOW, tick=False):
        summary = selectors.summary(filters)
        volume = selectors.volume(filters)
        backlog = selectors.backlog(filters)
    orders = WorkOrder.objects.filter(
        service_type=week.service_type, created_at__gte=at(3, 3, 0), created_at__lt=at(3, 10, 0)
    ).select_related("customer")

    # Volume by status.
    raw_status = dict(orders.values_list("status").annotate(n=Count("id")))
    assert {r["status"]: r["count"] for r in volume.by_status if r["count"]} == raw_status
    assert summary.total == orders.count()

    # Clock time: from the event log directly.
    raw = _raw_clock_times(week.service_type.pk, first, last)
    for t in summary.times:
        assert t["clock_n"] == raw[f"{t['target']}_n"]
        assert float(t["clock_avg"]) == pytest.approx(float(raw[f"{t['target']}_avg"]), abs=0.05)
        assert t["clock_p90"] == pytest.approx(float(raw[f"{t['target']}_p90"]))

    # Business time: the SLA calendar over the raw events.
    business = _raw_business_seconds(orders)
    for t in summary.times:
        values = sorted(business[t["target"]])
        assert float(t["business_avg"]) == pytest.approx(sum(values) / len(values), abs=0.05)

    # SLA deadlines agree with the SLA module's own columns on orders that were never reopened.
    for wo in orders.exclude(events__action="reopen"):
        fact = WorkOrderFact.objects.get(pk=wo.pk)
        for target in ("first_response", "arrival", "resolution"):
            met_at = getattr(wo, f"{target}_met_at")
            if met_at is not None:
                assert getattr(fact, f"{target}_due") == getattr(wo, f"{target}_due")
                assert getattr(fact, f"{target}_met") == (met_at <= getattr(wo, f"{target}_due"))
            elif wo.status in OPEN_STATES:
                assert getattr(fact, f"{target}_due") == getattr(wo, f"{target}_due")

    # First-time fix: resolved, no second visit asked for, not reopened within 14 days.
    resolved = orders.filter(events__action="complete").distinct()
    second = set(CompletionReport.objects.filter(needs_second_visit=True).values_list("work_order_id", flat=True))
    reopened = {
        wo.pk for wo in resolved
        if wo.events.filter(action="reopen", created_at__lte=wo.events.filter(action="complete")
                            .order_by("id").first().created_at + timedelta(days=14)).exists()
    }
    fixed = [wo.pk for wo in resolved if wo.pk not in second and wo.pk not in reopened]
    assert summary.quality["resolved"] == resolved.count()
    assert summary.quality["first_time_fixed"] == len(fixed)

    # Satisfaction and NPS from the answered surveys.
    answers = Survey.objects.filter(work_order__in=orders, status=Survey.State.ANSWERED)
    raw_q = answers.aggregate(avg=Avg("satisfaction"), n=Count("id"), promoters=Count("id", filter=Q(recommend__gte=9)),
                              detractors=Count("id", filter=Q(recommend__lte=6)))
    assert summary.quality["answers"] == raw_q["n"]
    assert float(summary.quality["satisfaction_avg"]) == round(raw_q["avg"], 2)
    assert float(summary.quality["nps"]) == round(100 * (raw_q["promoters"] - raw_q["detractors"]) / raw_q["n"], 1)

    # Backlog: the open orders of the service type now.
    open_now = WorkOrder.objects.filter(service_type=week.service_type, status__in=OPEN_STATES)
    assert backlog[-1]["total"] == open_now.count()
    assert {r["status"]: r["total"] for r in backlog[:-1] if r["total"]} == dict(
        open_now.values_list("status").annotate(n=Count("id"))
    )


def test_rebuilding_one_order_gives_the_same_row(week):
    before = _rows()[week.b.pk]
    facts_refresh(work_order_ids=[week.b.pk])
    assert _rows()[week.b.pk] == before


def test_the_refresh_command_catches_up_and_rebuilds(week):
    from django.core.management import call_command

    imported = WorkOrderFactory(service_type=week.service_type)
    call_command("reports_refresh")
    assert WorkOrderFact.objects.filter(pk=imported.pk).exists()

    WorkOrderFact.objects.all().delete()
    call_command("reports_refresh", "--all")
    assert WorkOrderFact.objects.count() == WorkOrder.objects.count()


def test_code_that_inserts_events_in_bulk_can_ask_for_a_refresh_after_commit(week, django_capture_on_commit_callbacks):
    from reports.facts import refresh_after_commit

    # A bulk writer: no save(), so no signal; it asks for the refresh itself.
    with django_capture_on_commit_callbacks(execute=True):
        WorkOrder.objects.filter(pk=week.d.pk).update(status="cancelled")
        WorkOrderEvent.objects.bulk_create([WorkOrderEvent(work_order=week.d, action="cancel", from_status="new",
                                                           to_status="cancelled", actor_role="system")])
        assert WorkOrderFact.objects.get(pk=week.d.pk).status == "new"  # not before the commit
        refresh_after_commit(work_order_ids=[week.d.pk])
    fact = WorkOrderFact.objects.get(pk=week.d.pk)
    assert (fact.status, fact.first_response_due) == ("cancelled", None)  # a stopped clock has no deadline
