"""Demo data: ``manage.py seed_demo`` builds a believable, consistent world."""

import io
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from catalog.models import Part, ServiceType
from core import roles as R
from customers.models import Customer
from knowledge.models import SuggestionOutcome
from notifications.models import Notification
from workorders import hooks
from workorders.lifecycle import PREVIOUS, TRANSITIONS, Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.services import workorder_create

pytestmark = pytest.mark.django_db

NEEDS_TECHNICIAN = {
    Status.ASSIGNED, Status.ACCEPTED, Status.EN_ROUTE, Status.IN_PROGRESS, Status.ON_HOLD,
    Status.RESOLVED, Status.FOLLOW_UP, Status.CLOSED,
}


def seed(n, **options):
    out = io.StringIO()
    call_command("seed_demo", work_orders=n, seed=7, no_progress=True, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded():
    return seed(120)


def test_every_role_gets_a_demo_login_that_works(seeded):
    # Given a freshly seeded database
    # Then each role has a user who can sign in with the demo password
    expected = {
        "agent": R.AGENT, "dispatcher": R.DISPATCHER, "technician": R.TECHNICIAN,
        "partner": R.PARTNER_TECHNICIAN, "manager": R.MANAGER,
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password("demo12345")
        assert role in R.roles_of(user)
        assert user.is_staff == (role in R.OFFICE_ROLES)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.check_password("demo12345")
    # The partner technician works for a partner company; the technician for us.
    assert User.objects.get(username="partner").technician.partner_company is not None
    assert User.objects.get(username="technician").technician.partner_company is None
    # And the command tells the person running it how to log in
    for username in [*expected, "admin"]:
        assert username in seeded
    assert "demo12345" in seeded


def test_work_orders_cover_every_state_with_master_data_behind_them(seeded):
    assert set(WorkOrder.objects.values_list("status", flat=True)) == set(Status.values)
    # And the preventive maintenance plans' coming visits (channel "maint"), created by their sweep.
    assert WorkOrder.objects.exclude(channel=WorkOrder.Channel.MAINTENANCE).count() == 120
    assert ServiceType.objects.filter(required_skills__isnull=False).distinct().count() >= 5
    assert Customer.objects.exclude(tier=Customer.Tier.STANDARD).exists()
    # Sites lie in Shanghai.
    for wo in WorkOrder.objects.select_related("site")[:50]:
        assert 31.0 <= float(wo.site.latitude) <= 31.4 and 121.2 <= float(wo.site.longitude) <= 121.7


def test_a_site_s_chillers_have_their_next_quarter_s_visits_on_the_board(seeded):
    from maintenance.models import PlanVisit

    chiller_visits = PlanVisit.objects.filter(plan__equipment__serial__startswith="DEMO-CH-", plan__unit="months")
    assert chiller_visits.count() == 3 and not chiller_visits.filter(work_order__isnull=True).exists()
    assert {v.work_order.status for v in chiller_visits} == {Status.NEW}
    assert chiller_visits.first().work_order.contract is not None
    # Their service type's flow skips the call-back: a visit closes once resolved.
    assert chiller_visits.first().work_order.service_type.requires_follow_up is False
    assert PlanVisit.objects.filter(plan__unit="meter", meter_at=12500).exists()  # the meter passed 12,500 hours


def test_appointments_and_preferred_windows_fall_in_the_working_day_local_time(seeded):
    # The demo company works 08:00-18:00 in its own time zone (Asia/Shanghai by default): a
    # dispatcher looking at the board sees jobs by day, none booked for the middle of the night.
    booked = WorkOrder.objects.exclude(appointment_start=None)
    assert booked.count() >= 30
    for wo in booked:
        start, end = timezone.localtime(wo.appointment_start), timezone.localtime(wo.appointment_end)
        assert start.date() == end.date(), wo.pk
        assert (8, 0) <= (start.hour, start.minute) and (end.hour, end.minute) <= (18, 0), (wo.pk, start, end)
    preferred = WorkOrder.objects.exclude(preferred_start=None)
    assert preferred.exists()
    for wo in preferred:
        assert 9 <= timezone.localtime(wo.preferred_start).hour <= 14, wo.pk
    # On finished jobs the technician set off for the booked time: at most 30 minutes before it.
    checked = 0
    old_enough = timezone.now() - timedelta(days=7)
    for wo in WorkOrder.objects.filter(created_at__lt=old_enough, status__in=[Status.RESOLVED, Status.CLOSED]):
        actions = list(wo.events.order_by("id").values_list("action", "created_at"))
        departs = [at for action, at in actions if action == "depart"]
        last_assign = max(i for i, (action, _) in enumerate(actions) if action in ("assign", "reassign"))
        if departs and wo.appointment_start and any(a == "depart" for a, _ in actions[last_assign:]):
            assert departs[-1] >= wo.appointment_start - timedelta(minutes=30), wo.pk
            checked += 1
    assert checked >= 5


def test_each_work_orders_history_follows_the_lifecycle_table(seeded):
    events = {}
    for event in WorkOrderEvent.objects.order_by("work_order_id", "id"):
        events.setdefault(event.work_order_id, []).append(event)
    for wo in WorkOrder.objects.all():
        history = events[wo.pk]
        first = history[0]
        assert (first.action, first.from_status, first.to_status) == ("create", "", Status.NEW)
        assert first.created_at == wo.created_at
        held_from = None
        for before, event in zip(history, history[1:]):
            transition = TRANSITIONS[event.action]
            assert event.from_status == before.to_status, (wo.pk, event.action)
            assert event.from_status in transition.sources, (wo.pk, event.action, event.from_status)
            expected = held_from if transition.target == PREVIOUS else transition.target
            assert event.to_status == expected, (wo.pk, event.action)
            held_from = event.from_status if event.action == "hold" else held_from
            assert before.created_at <= event.created_at
            if transition.reason_required:
                assert event.note
        assert history[-1].to_status == wo.status
        assert wo.updated_at == history[-1].created_at
        if wo.status in NEEDS_TECHNICIAN:
            assert wo.technician_id is not None, (wo.pk, wo.status)
        if wo.status == Status.NEW:
            assert wo.technician_id is None
        if wo.status == Status.ON_HOLD:
            assert wo.hold_return_status == history[-1].from_status
            assert wo.hold_return_status in TRANSITIONS["hold"].sources
        else:
            assert wo.hold_return_status == ""


def test_a_change_in_the_lifecycle_table_changes_the_seed(monkeypatch):
    # Given a lifecycle table whose arrival no longer records the time of arrival
    arrive = TRANSITIONS["arrive"]
    monkeypatch.setitem(TRANSITIONS, "arrive",
                        replace(arrive, effects=tuple(e for e in arrive.effects if e != "stamp.arrived_at")))
    # When the demo is seeded
    seed(60)
    # Then its orders were worked on site without an arrival time, as real ones would be now
    arrived = WorkOrder.objects.filter(events__action="arrive").distinct()
    assert arrived.count() >= 10
    assert not arrived.exclude(arrived_at=None).exists()
    # And the table's other stamps are still there
    assert not arrived.filter(status=Status.CLOSED, closed_at=None).exists()
    assert not arrived.filter(status=Status.RESOLVED, resolved_at=None).exists()


@pytest.mark.parametrize("action, change, refused", [
    ("depart", {"sources": frozenset({Status.IN_PROGRESS})}, r"fire 'depart' from 'accepted'"),
    ("close", {"roles": frozenset({R.MANAGER, R.SYSTEM})}, r"role 'customer' fire 'close' from 'follow_up'"),
])
def test_a_history_the_lifecycle_table_does_not_allow_is_refused(monkeypatch, action, change, refused):
    # Given a lifecycle table that no longer allows a step of the demo's story (from that state, in that role)
    monkeypatch.setitem(TRANSITIONS, action, replace(TRANSITIONS[action], **change))
    # When the demo is seeded, it stops at that step, saying which
    with pytest.raises(CommandError, match=refused):
        seed(60)
    # And no order nor event of that story was written
    assert not WorkOrder.objects.exists() and not WorkOrderEvent.objects.exists()


def test_an_effect_the_seed_cannot_replay_stops_it_before_anything_is_written(monkeypatch):
    # Given a table whose "accept" does something the seed knows no way to replay
    monkeypatch.setitem(hooks._REGISTRY[hooks.EFFECTS], "reminder.schedule", lambda ctx: [])
    accept = TRANSITIONS["accept"]
    monkeypatch.setitem(TRANSITIONS, "accept", replace(accept, effects=("reminder.schedule", *accept.effects)))
    # When the demo is seeded, it is refused with the effect's name
    with pytest.raises(CommandError, match=r"'reminder.schedule' of the 'accept' transition"):
        seed(30)
    # And nothing was written: no demo user, no customer
    assert not User.objects.filter(username="agent").exists() and not Customer.objects.exists()


def test_ids_follow_creation_time_and_new_requests_number_after_the_demo_ones(seeded, service_type):
    created = list(WorkOrder.objects.order_by("id").values_list("created_at", flat=True))
    assert created == sorted(created)
    # When a customer sends a request after seeding
    last = WorkOrder.objects.order_by("-id").first()
    wo, _ = workorder_create(
        channel="web", contact_name="王芳", contact_phone="+8613900000001", address="上海市徐汇区虹桥路 1 号",
        service_type=service_type, description="空调不制冷",
    )
    # Then it gets the next number, and its creation event the next event id
    assert wo.pk > last.pk
    assert wo.events.get().pk > WorkOrderEvent.objects.exclude(work_order=wo).order_by("-id").first().pk


def test_if_empty_leaves_an_existing_database_alone(seeded):
    before = (WorkOrder.objects.count(), WorkOrderEvent.objects.count(), Customer.objects.count())
    out = seed(50, if_empty=True)
    assert (WorkOrder.objects.count(), WorkOrderEvent.objects.count(), Customer.objects.count()) == before
    assert "nothing to seed" in out


def test_seeding_over_existing_data_needs_an_explicit_flush(seeded):
    with pytest.raises(CommandError, match="--flush"):
        seed(10)
    old = WorkOrder.objects.order_by("pk").first()
    Notification.objects.create(channel="sms", recipient="+8613800000000", template="technician_departed",
                                subject_id=old.pk)
    seed(30, flush=True)
    assert WorkOrder.objects.exclude(channel=WorkOrder.Channel.MAINTENANCE).count() == 30
    # Order ids start again from 1: no message about an old order may name a new one.
    assert not Notification.objects.filter(recipient="+8613800000000").exists()
    assert User.objects.filter(username="agent").count() == 1


def test_a_flush_forgets_what_the_request_form_suggested_to_the_old_orders(seeded):
    # An outcome names its order by id, and a flush numbers the new orders from 1 again:
    # a kept outcome would claim that a new order was submitted after reading suggestions.
    SuggestionOutcome.objects.create(work_order_ref=WorkOrder.objects.order_by("pk").first().pk)
    seed(30, flush=True)
    assert not SuggestionOutcome.objects.exists()


# --- The story: knowledge, finished work with parts and costs, surveys, the dashboard -------------


@pytest.fixture
def story():
    return seed(300)


def test_the_knowledge_base_answers_in_both_languages(story):
    from knowledge.selectors import article_search

    # A customer (anonymous) finds the public fee schedule in Chinese and in English
    zh = [a.title for a in article_search(user=None, q="收费标准")]
    en = [a.title for a in article_search(user=None, q="fee schedule")]
    assert "服务收费标准" in zh
    assert "Fee schedule" in en
    # and the schedule quotes the catalogue's prices
    from knowledge.models import Article

    fee = Article.objects.get(title="Fee schedule")
    part = Part.objects.get(part_number="WM-PUMP")
    assert str(part.unit_price) in fee.body_html
    # The technicians' how-tos are for technicians only, in both languages
    technician = User.objects.get(username="technician")
    assert any("洗衣机维修" in a.title for a in article_search(user=technician, q="洗衣机维修 作业指导"))
    assert any("washing machine" in a.title for a in article_search(user=technician, q="washing machine repair"))
    assert not any("washing machine" in a.title for a in article_search(user=None, q="washing machine repair"))


def test_completion_reports_charge_the_catalogue_prices(story):
    from completion.models import CompletionReport
    from workorders.lifecycle import FINAL_STATES

    reports = CompletionReport.objects.select_related("work_order__service_type").prefetch_related("parts")
    assert reports.count() >= 100
    # Every resolved or closed order has the report its completion stands for.
    done = WorkOrder.objects.filter(status__in=[Status.RESOLVED, Status.FOLLOW_UP, Status.CLOSED])
    assert not done.filter(completion_reports__isnull=True).exists()
    assert not WorkOrder.objects.filter(status=Status.CANCELLED, completion_reports__isnull=False).exists()
    prices = {p.pk: p.unit_price for p in Part.objects.all()}
    with_parts = 0
    for report in reports:
        lines = list(report.parts.all())
        for line in lines:
            assert line.unit_price == prices[line.part_id]
            assert line.amount == (line.unit_price * line.quantity).quantize(Decimal("0.01"))
        assert report.parts_amount == sum((line.amount for line in lines), Decimal("0.00")), report.pk
        assert report.callout_fee == report.work_order.service_type.callout_fee
        assert report.total_amount == report.callout_fee + report.labour_amount + report.parts_amount
        assert report.answers.filter(mandatory=True).exclude(answer__in=["done", "problem"]).count() == 0
        with_parts += bool(lines)
    assert 0.4 * reports.count() < with_parts < reports.count()
    assert FINAL_STATES  # (imported for the states above)


def test_first_time_fix_and_satisfaction_look_like_a_real_company(story):
    from reports.forms import Filters
    from reports.models import WorkOrderFact
    from reports.selectors import summary
    from workorders.models import Survey

    # The dashboard's figures are there straight after seeding
    assert WorkOrderFact.objects.count() == WorkOrder.objects.count()
    today = timezone.localdate()
    quality = summary(Filters(date_from=today - timedelta(days=365), date_to=today)).quality
    assert 50 < quality["first_time_fix_rate"] < 100
    assert quality["second_visits"] > 0
    assert quality["answers"] > 0 and 3 < quality["satisfaction_avg"] < 5
    answered = Survey.objects.filter(status=Survey.State.ANSWERED)
    assert len(set(answered.values_list("satisfaction", flat=True))) >= 3
    # A customer's close is a good answer; a manager's close follows a low answer and the call-back.
    for survey in answered.filter(callback_at__isnull=False)[:20]:
        assert survey.is_low and survey.needs_callback and survey.callback_note
    closed_by_customer = WorkOrderEvent.objects.filter(action="close", actor_role=R.CUSTOMER).values("work_order")
    assert not answered.filter(work_order__in=closed_by_customer, satisfaction__lte=2).exists()


def _story_snapshot():
    from completion.models import CompletionReport, PartUsage
    from workorders.models import Survey

    return (
        # (technicians by name: ids depend on what the database numbered before)
        list(WorkOrder.objects.order_by("pk").values_list("pk", "status", "technician__user__username",
                                                          "description")),
        list(CompletionReport.objects.order_by("pk").values_list(
            "work_order_id", "technician__user__username", "labour_minutes", "parts_amount", "total_amount", "needs_second_visit")),
        list(PartUsage.objects.order_by("pk").values_list("report__work_order_id", "part_number", "quantity")),
        list(Survey.objects.order_by("pk").values_list(
            "work_order_id", "token", "status", "satisfaction", "recommend", "comment")),
    )


def _empty_database():
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (the test's transaction holds deferred checks)
    call_command("flush", interactive=False, verbosity=0)


def test_the_same_seed_tells_the_same_story():
    # Given an empty database seeded with seed 7
    _empty_database()
    seed(150)
    first = _story_snapshot()
    # When the database is emptied and seeded again with the same seed
    _empty_database()
    seed(150)
    # Then it holds the same orders, reports, parts used and survey answers
    assert _story_snapshot() == first
    assert first[1] and first[2] and first[3]


def test_a_bounded_story_covers_only_the_most_recent_orders():
    from completion.models import CompletionReport
    from reports.models import WorkOrderFact

    # A large seed can keep the story to its recent orders (bench/run.py seeds a million)
    seed(200, story_orders=50)
    demo = WorkOrder.objects.exclude(channel=WorkOrder.Channel.MAINTENANCE)
    recent = set(demo.order_by("-pk").values_list("pk", flat=True)[:50])
    reported = set(CompletionReport.objects.values_list("work_order_id", flat=True))
    assert reported and reported <= recent
    # (and the maintenance plans' coming visits, created after the story)
    planned = set(WorkOrder.objects.filter(channel=WorkOrder.Channel.MAINTENANCE).values_list("pk", flat=True))
    assert set(WorkOrderFact.objects.values_list("work_order_id", flat=True)) == recent | planned


def test_an_inspection_asks_for_a_before_photo_and_five_checklist_items(seeded):
    # Given the demo's safety inspection (issue 22)
    inspection = ServiceType.objects.get(code="inspection")
    # Then completing one needs a photo taken before, a yes/no answer and five checklist items
    required = {(f.key, f.kind, f.stage) for f in inspection.custom_fields.filter(required=True, active=True)}
    assert required == {("before_photo", "photo", "completion"), ("hazard_found", "yesno", "completion")}
    assert inspection.checklist_items.filter(mandatory=True, active=True).count() == 5
    # And its flow asks for a photo on arrival, before the work starts
    assert inspection.before_photos_min == 1
    # And intake asks an optional question with options in both languages
    question = inspection.custom_fields.get(stage="intake")
    assert (question.kind, question.required) == ("choice", False)
    assert "住宅" in question.choices_zh_hans and "Home" in question.choices_en
    assert question.label_zh_hans and question.label_en
