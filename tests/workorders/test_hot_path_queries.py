"""What each benchmark endpoint costs the database, pinned: the absolute number of SQL queries
of one request, warm and cold, counted the way ``bench/run.py`` counts them.

These are the five hot paths (seven bench rows) of docs/operations.md, "Figures for the
Foundation issue's targets". A change that adds a query to one of them fails here, and so does
one that saves a query (then write the new figure here and in docs/operations.md). Issue 13
moves code between apps step by step; this file is part of its gate.

- Same requests as the benchmark: its own scenarios (``bench/scenarios.py``: paths, bodies,
  headers such as ``Idempotency-Key``, users and roles), its own set-up (``bench/run.py``
  ``prepare``: the ``agent``'s API token, the ``dispatcher``'s session, the order with 50
  events) and its own counting (``bench/run.py`` ``request_sender`` and ``capture_queries``:
  warm is the fewest of a few requests, cold one request right after the per-process copies of
  users, roles and reference data were dropped).
- Data shaped like the bench database where the count depends on it: more than 1,000 new
  orders (so the queue's count is the capped "1,000+", kept for seconds), each with its SLA
  clock running on the default office-hours policy (so a page reads the policies and that
  calendar), deep pages reached by following "next" links (a cursor, as the bench's page 201).
- The creates run outside a transaction block (``transaction=True``), as a web request does: in
  one, a create takes a savepoint around its statement.

That the counts do not grow with the data is shown where each page is tested:
tests/workorders/test_api.py::test_a_list_page_costs_the_same_queries_for_10_and_100_rows,
tests/workorders/test_staff_pages.py::test_list_issues_the_same_number_of_queries_for_10_and_1000_work_orders,
tests/workorders/test_staff_pages.py::test_detail_with_50_events_takes_as_many_queries_as_with_one and
tests/workorders/test_create_writes.py::test_an_api_create_from_a_new_number_is_one_statement_and_a_repeat_caller_three.
"""

import importlib
import re

import pytest
from django.apps import apps
from django.test import Client

from bench import run
from bench.scenarios import SCENARIOS
from catalog.models import ServiceType
from core import roles as R
from tests.factories import ServiceTypeFactory, TechnicianFactory, UserFactory
from workorders.lifecycle import Status
from sla.models import SlaPolicy
from workorders.models import WorkOrder
from workorders.services import workorder_create

# (warm, cold) queries per bench scenario, as in docs/operations.md.
PINNED = {
    "api-create": (1, 10),  # cold: + the webhook endpoints each process keeps (notifications/webhooks.py)
    "form-create": (2, 8),  # + the check for a repeat of an open request (workorders/duplicates.py)
    "staff-list": (1, 9),
    "staff-list-deep": (1, 9),
    "api-list": (1, 9),
    "api-list-deep": (1, 9),
    "staff-detail": (3, 10),
}
SCENARIO = {s.name: s for s in SCENARIOS}
NEW_ORDERS = 1010  # over the queue's count cap (1,000): the bench's queue shows "1,000+" too
DEEP_HOPS = 3  # "next" links followed for a deep page (the bench follows 200 on 1,000,000 orders)


class InProcessContext(run.Context):
    """The bench's context, fetching pages with Django's test client instead of over HTTP."""

    def __init__(self):
        super().__init__("http://testserver")
        self.client = Client()

    def get(self, path, auth=None):
        response = self.client.get(path, headers=self.auth_headers(auth))
        return response.status_code, response.headers, response.content.decode()

    def follow_next(self, path, *, auth, pages):
        deep = super().follow_next(path, auth=auth, pages=min(pages, DEEP_HOPS))
        assert "cursor=" in deep, f"no next page behind {path}"
        return deep


def _sla_defaults():
    """The SLA policies, calendars and escalation levels the migrations write (the bench's
    database has just these). A transactional test's flush removes them; a create's cold count
    depends on them (the policy's calendar and escalation levels are read)."""
    if not SlaPolicy.objects.exists():
        importlib.import_module("workorders.migrations.0005_sla_notifications_surveys").create_defaults(
            _AppsAt0005(), None
        )


class _AppsAt0005:
    """The models as migration 0005 names them: its SLA models are the app sla's now."""

    def get_model(self, app_label, model_name):
        return apps.get_model("sla" if app_label == "workorders" else app_label, model_name)


@pytest.fixture
def bench(fresh_rate_limits):
    """What bench/run.py prepares before it counts, on the users seed_demo makes."""
    _sla_defaults()
    UserFactory(username="agent", roles=[R.AGENT], is_staff=True)
    UserFactory(username="dispatcher", roles=[R.DISPATCHER], is_staff=True)
    TechnicianFactory(user__username="technician")
    ServiceTypeFactory(code="washer-repair", name="Washing machine repair")
    ctx = InProcessContext()
    run.prepare(ctx)
    return ctx


def _new_orders(ctx, n):
    """``n`` new orders like the bench's: the first made by the service (SLA clock started on the
    default policy), the others copies of it in one insert."""
    first, _created = workorder_create(
        channel=WorkOrder.Channel.API, contact_name="王芳", contact_phone="+8613900000001",
        address="上海市浦东新区张杨路500号3栋1201室", service_type=ServiceType.objects.get(pk=ctx.service_type_id),
        description="空调不制冷，外机有异响。", priority=WorkOrder.Priority.NORMAL, actor_role=R.AGENT,
    )
    assert first.sla_policy_id is not None and first.resolution_due is not None
    copied = [f.attname for f in WorkOrder._meta.concrete_fields if f.attname not in ("id", "public_token", "submission_key")]
    values = {name: getattr(first, name) for name in copied}
    WorkOrder.objects.bulk_create(WorkOrder(**values) for _ in range(n - 1))


def _measure(ctx, name):
    """The scenario's path, and its queries warm and cold (``CaptureQueriesContext``s)."""
    scenario = SCENARIO[name]
    path = scenario.path(ctx)
    once = run.request_sender(ctx, scenario, path)
    first = once()  # the warm-up request of bench/run.py
    assert first.status_code in scenario.expect, (first.status_code, first.content[:500])
    warm, cold, warm_response, cold_response = run.capture_queries(once)
    for response in (warm_response, cold_response):
        assert response.status_code in scenario.expect, (response.status_code, response.content[:500])
    return path, warm, cold


def _assert_pinned(ctx, name):
    path, warm, cold = _measure(ctx, name)
    pinned_warm, pinned_cold = PINNED[name]
    for kind, captured, pinned in (("warm", warm, pinned_warm), ("cold", cold, pinned_cold)):
        sql = "\n".join(f"  {i}. {q['sql'][:400]}" for i, q in enumerate(captured.captured_queries, 1))
        assert len(captured) == pinned, (
            f"{name} ({SCENARIO[name].method} {path}), {kind}: {len(captured)} queries, pinned {pinned}. "
            f"If this is meant, change PINNED and docs/operations.md. The queries:\n{sql}"
        )
    return path


@pytest.mark.django_db(transaction=True)
def test_an_api_create_is_one_query_warm_and_ten_cold(bench):
    _assert_pinned(bench, "api-create")
    assert WorkOrder.objects.filter(channel=WorkOrder.Channel.API, submission_key__isnull=False).count() >= 7


@pytest.mark.django_db(transaction=True)
def test_a_public_form_create_is_one_query_warm_and_seven_cold(bench):
    status, _headers, body = bench.get("/request/")
    bench.csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)

    _assert_pinned(bench, "form-create")
    assert WorkOrder.objects.filter(channel=WorkOrder.Channel.WEB).count() >= 7


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["staff-list", "staff-list-deep", "api-list", "api-list-deep"])
def test_a_list_page_is_one_query_warm_and_nine_cold(bench, name):
    _new_orders(bench, NEW_ORDERS)

    path = _assert_pinned(bench, name)
    assert ("cursor=" in path) == name.endswith("-deep")


@pytest.mark.django_db
def test_the_staff_detail_of_an_order_with_50_events_is_three_queries_warm_and_ten_cold(bench):
    detail = WorkOrder.objects.get(pk=bench.detail_pk)
    assert (detail.status, detail.events.count()) == (Status.ACCEPTED, 50)

    _assert_pinned(bench, "staff-detail")
