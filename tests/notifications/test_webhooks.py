"""Webhook endpoints: signed events through the outbox, in order per work order, logged, replayed,
disabled after failing for a day (notifications/webhooks.py)."""

import json
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications import webhooks
from notifications.models import Notification, WebhookAttempt, WebhookEndpoint
from notifications.services import notification_deliver, notifications_deliver_due, notifications_sweep
from sla.models import SlaPolicy
from tests.factories import TechnicianFactory, UserFactory, workorder_via_service
from workorders.services import workorder_transition

E = WebhookEndpoint.Event


class Receiver:
    """A local webhook receiver: records each request's raw body, headers and the status it
    answered; answers with the next status of ``statuses`` (when they run out: 503 while
    ``down``, else 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.down = False
        self.hang = 0.0  # seconds to wait before answering (a receiver that does not answer in time)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hang:
                    time.sleep(receiver.hang)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 503 if receiver.down else 200
                    receiver.requests.append({"body": raw, "headers": dict(self.headers), "status": status})
                answer = b"ok" if status < 300 else b"receiver is down: " + b"x" * 5000
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on 127.0.0.1
    stub = Receiver()
    yield stub
    stub.close()


@pytest.fixture
def no_policies(db):
    SlaPolicy.objects.all().delete()


@pytest.fixture
def owner(db):
    return UserFactory(username="integrator", email="integrator@example.com", is_staff=True, is_superuser=True)


def _endpoint(receiver, owner, events=tuple(E.values), **kw):
    return WebhookEndpoint.objects.create(name="ERP", url=receiver.url, secret=webhooks.secret_new(),
                                          events=list(events), created_by=owner, **kw)


def _rows(**kw):
    return Notification.objects.filter(channel=Notification.Channel.ENDPOINT, **kw).order_by("id")


def _assign(wo, tech):
    return workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)


def test_a_transition_is_delivered_signed_and_verifies(receiver, owner, no_policies):
    endpoint = _endpoint(receiver, owner, events=[E.WORK_ORDER_ASSIGNED, E.WORK_ORDER_STATUS_CHANGED])
    wo = workorder_via_service()
    tech = TechnicianFactory()
    _assign(wo, tech)

    rows = list(_rows(subject_id=wo.pk))
    assert [r.payload["type"] for r in rows] == ["workorder.status_changed", "workorder.assigned"]
    for row in rows:
        assert notification_deliver(notification_id=row.pk) == "sent"

    assert len(receiver.requests) == 2
    for request in receiver.requests:
        verified = Webhook(endpoint.secret).verify(request["body"], request["headers"])
        assert verified["data"]["work_order_id"] == wo.pk and verified["data"]["number"] == wo.number
        assert verified["data"]["technician_id"] == tech.pk and verified["data"]["to_status"] == "assigned"
    assert [e["type"] for e in receiver.events()] == ["workorder.status_changed", "workorder.assigned"]
    # A forged signature does not verify.
    forged = {**receiver.requests[0]["headers"], "webhook-signature": "v1,AAAA"}
    with pytest.raises(Exception):
        Webhook(endpoint.secret).verify(receiver.requests[0]["body"], forged)
    assert [a.status_code for a in WebhookAttempt.objects.order_by("id")] == [200, 200]


def test_a_new_order_is_told_with_its_id(receiver, owner, no_policies):
    endpoint = _endpoint(receiver, owner, events=[E.WORK_ORDER_CREATED])
    wo = workorder_via_service(external_ref="CRM-77")

    [row] = _rows()
    assert row.subject_id == wo.pk
    assert notification_deliver(notification_id=row.pk) == "sent"
    body = Webhook(endpoint.secret).verify(receiver.requests[0]["body"], receiver.requests[0]["headers"])
    assert body["type"] == "workorder.created"
    assert body["data"]["work_order_id"] == wo.pk and body["data"]["external_ref"] == "CRM-77"


def test_a_rolled_back_change_sends_nothing(receiver, owner, no_policies):
    _endpoint(receiver, owner)
    wo = workorder_via_service()
    before = _rows().count()  # its creation
    tech = TechnicianFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        _assign(wo, tech)
        assert _rows().count() > before  # written with the change ...
        raise RuntimeError("the caller fails after the transition")

    assert _rows().count() == before  # ... and gone with it
    wo.refresh_from_db()
    assert wo.status == "new"


def test_an_endpoint_only_gets_the_events_it_chose(receiver, owner, no_policies):
    _endpoint(receiver, owner, events=[E.WORK_ORDER_CLOSED])
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    assert not _rows().exists()


def test_a_failed_delivery_is_retried_with_backoff_and_logged(receiver, owner, no_policies):
    _endpoint(receiver, owner, events=[E.WORK_ORDER_ASSIGNED])
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    [row] = _rows()
    receiver.statuses = [503]

    assert notification_deliver(notification_id=row.pk) == "retry"
    row.refresh_from_db()
    assert row.status == "pending" and row.next_attempt_at > timezone.now() + timedelta(seconds=30)
    assert notifications_deliver_due()["sent"] == 0  # not before its time
    notifications_deliver_due(now=row.next_attempt_at + timedelta(seconds=1))
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2

    first, second = WebhookAttempt.objects.filter(delivery=row).order_by("id")
    assert first.status_code == 503 and first.response_body.startswith("receiver is down")
    assert len(first.response_body) == 2000 and "HTTP 503" in first.error
    assert second.status_code == 200 and second.error == ""
    # The same message id on both attempts, so the receiver can drop a repeat.
    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1


def test_a_later_event_waits_for_an_earlier_one_of_the_same_order(receiver, owner, no_policies):
    _endpoint(receiver, owner, events=[E.WORK_ORDER_STATUS_CHANGED])
    wo = workorder_via_service()
    other = workorder_via_service()
    tech = TechnicianFactory()
    _assign(wo, tech)
    workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
    _assign(other, TechnicianFactory())
    assigned, accepted = _rows(subject_id=wo.pk)
    [other_row] = _rows(subject_id=other.pk)
    receiver.statuses = [500]

    assert notification_deliver(notification_id=assigned.pk) == "retry"
    assert notification_deliver(notification_id=accepted.pk) == "waiting"  # not sent before the first
    accepted.refresh_from_db()
    assert accepted.status == "pending" and accepted.attempts == 0
    assert notification_deliver(notification_id=other_row.pk) == "sent"  # another order does not wait

    later = timezone.now() + timedelta(hours=2)
    notifications_deliver_due(now=later)
    assigned.refresh_from_db()
    accepted.refresh_from_db()
    assert assigned.status == "sent"
    # Handed over as soon as the earlier one was sent: due now, not after a wait.
    assert accepted.status == "pending" and accepted.next_attempt_at <= timezone.now()
    notifications_deliver_due()
    accepted.refresh_from_db()
    assert accepted.status == "sent"
    to_statuses = [(e["data"]["work_order_id"], e["data"]["to_status"]) for e in receiver.events()]
    assert [s for pk, s in to_statuses if pk == wo.pk] == ["assigned", "assigned", "accepted"]


def test_an_administrator_replays_a_delivery_from_the_log(receiver, owner, no_policies, client):
    endpoint = _endpoint(receiver, owner, events=[E.WORK_ORDER_ASSIGNED])
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    [row] = _rows()
    notification_deliver(notification_id=row.pk)

    client.force_login(owner)
    page = client.get(reverse("admin:notifications_webhookdelivery_change", args=[row.pk]))
    assert page.status_code == 200 and b"workorder.assigned" in page.content
    response = client.post(reverse("admin:notifications_webhookdelivery_changelist"),
                           {"action": "replay", "_selected_action": [row.pk]}, follow=True)
    assert b"1 deliveries queued again" in response.content
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 0
    assert notification_deliver(notification_id=row.pk) == "sent"

    first, again = receiver.requests
    assert first["headers"]["webhook-id"] == again["headers"]["webhook-id"]
    Webhook(endpoint.secret).verify(again["body"], again["headers"])
    assert WebhookAttempt.objects.filter(delivery=row).count() == 2


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_owner_told(receiver, owner, no_policies, settings):
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 86400
    endpoint = _endpoint(receiver, owner, events=[E.WORK_ORDER_STATUS_CHANGED], contact_email="ops@example.com")
    receiver.statuses = [500] * 50
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wo = workorder_via_service()
        _assign(wo, TechnicianFactory())
        [first] = _rows()
        assert notification_deliver(notification_id=first.pk) == "retry"
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since == start

    with time_machine.travel(start + timedelta(hours=23), tick=False):
        notifications_deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.is_active  # not yet a day

    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        other = workorder_via_service()
        _assign(other, TechnicianFactory())
        notifications_deliver_due(now=timezone.now() + timedelta(hours=1))
        endpoint.refresh_from_db()
        assert not endpoint.is_active and endpoint.disabled_at is not None
        # What was still waiting is given up; nothing new is written for it.
        assert not _rows(status="pending").exists()
        _assign(workorder_via_service(), TechnicianFactory())
        assert not _rows(status="pending").exists()
        told = Notification.objects.filter(template="webhook_disabled")
        assert sorted(told.values_list("recipient", flat=True)) == ["integrator@example.com", "ops@example.com"]
        notifications_deliver_due(now=timezone.now() + timedelta(hours=1))
    assert any("ERP" in m.subject and m.to == ["ops@example.com"] for m in mail.outbox)


def test_a_success_ends_the_failure_window(receiver, owner, no_policies):
    endpoint = _endpoint(receiver, owner, events=[E.WORK_ORDER_ASSIGNED])
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    [row] = _rows()
    receiver.statuses = [500]
    notification_deliver(notification_id=row.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    notifications_deliver_due(now=timezone.now() + timedelta(hours=2))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


# --- A receiver down for ten minutes (bench/webhook_bench.py --outage 600, on the test's clock) ---


def test_a_receiver_down_for_ten_minutes_loses_nothing_and_keeps_each_order_in_order(receiver, owner, no_policies,
                                                                                       settings):
    settings.OUTBOX_RETRY_BASE_SECONDS, settings.OUTBOX_RETRY_MAX_SECONDS = 60, 3600
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 86400
    endpoint = _endpoint(receiver, owner, contact_email="ops@example.com")
    receiver.down = True
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        orders = [workorder_via_service() for _ in range(3)]
        for wo in orders:
            tech = TechnicianFactory()
            _assign(wo, tech)
            workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
        rows = list(_rows())
        heads = {min(r.pk for r in rows if r.subject_id == wo.pk) for wo in orders}  # each order's "created"
        assert len(rows) == 12 and len(heads) == 3
        # What the tasks handed the rows after commit do (the technicians' SMS go too): the first
        # webhook of each order is tried and fails; the others wait for it, counting no attempt.
        outcomes = {pk: notification_deliver(notification_id=pk)
                    for pk in Notification.objects.order_by("id").values_list("id", flat=True)}
        assert [outcomes[r.pk] for r in rows] == ["retry" if r.pk in heads else "waiting" for r in rows]

        # Ten minutes down, the retry sweep running every minute. Its batch holds just the three
        # first rows: the nine waiting behind them (due sooner) must not crowd them out.
        for minute in range(1, 11):
            clock.move_to(start + timedelta(minutes=minute))
            notifications_deliver_due(batch=len(heads))

        for head in heads:
            tried = [int((at - start).total_seconds() // 60) for at in
                     WebhookAttempt.objects.filter(delivery_id=head).order_by("id").values_list("attempted_at", flat=True)]
            assert tried == [0, 1, 3, 7]  # backoff 1, 2, 4 minutes; the next one 8 minutes on
        states = Counter(_rows().values_list("status", "attempts"))
        assert states == {("pending", 4): 3, ("pending", 0): 9}  # none dropped, none given up
        assert set(_rows(pk__in=heads).values_list("next_attempt_at", flat=True)) == {start + timedelta(minutes=15)}
        first_ids = {webhooks.message_id(r) for r in rows if r.pk in heads}
        assert {r["headers"]["webhook-id"] for r in receiver.requests} == first_ids  # no later event went out
        assert {r["status"] for r in receiver.requests} == {503} and len(receiver.requests) == 12
        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.failing_since == start  # a day is far off

        # Back at minute 10; the first rows are retried when due (minute 15), and each one sent
        # hands over the next of its order at once, without its own backoff: one sweep, in
        # batches of two while they come back full, sends all twelve.
        receiver.down = False
        clock.move_to(start + timedelta(minutes=10, seconds=30))
        assert notifications_sweep(batch=2)["sent"] == 0
        clock.move_to(start + timedelta(minutes=15))
        assert notifications_sweep(batch=2) == {"sent": 12, "retry": 0, "failed": 0}
        delivered = [r for r in receiver.requests if r["status"] == 200]
        verifier = Webhook(endpoint.secret)  # (as the receiver does, when they arrive: the timestamps are fresh)
        bodies = [verifier.verify(r["body"], r["headers"]) for r in delivered]

    assert not _rows().exclude(status="sent").exists()
    ids = Counter(r["headers"]["webhook-id"] for r in delivered)
    assert sorted(ids) == sorted(webhooks.message_id(r) for r in rows) and set(ids.values()) == {1}  # each once
    for wo in orders:
        told = [(b["type"], b["data"].get("to_status")) for b in bodies if b["data"]["work_order_id"] == wo.pk]
        assert told == [("workorder.created", None), ("workorder.status_changed", "assigned"),
                        ("workorder.assigned", "assigned"), ("workorder.status_changed", "accepted")]
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None
    assert not Notification.objects.filter(template="webhook_disabled").exists()


def test_after_a_broker_outage_one_sweep_sends_every_order_s_events_in_order(receiver, owner, no_policies):
    _endpoint(receiver, owner, events=[E.WORK_ORDER_CREATED, E.WORK_ORDER_STATUS_CHANGED])
    tech = TechnicianFactory()
    orders = [workorder_via_service() for _ in range(2)]
    for wo in orders:  # no task was handed any of these rows (the broker was down): the sweep finds them
        _assign(wo, tech)
        workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)

    assert _rows().count() == 6
    notifications_sweep(batch=4, now=timezone.now() + timedelta(minutes=1))  # (the technician's SMS go too)
    assert not _rows().exclude(status="sent").exists() and len(receiver.requests) == 6
    for wo in orders:
        told = [(e["type"], e["data"].get("to_status")) for e in receiver.events() if e["data"]["work_order_id"] == wo.pk]
        assert told == [("workorder.created", None), ("workorder.status_changed", "assigned"),
                        ("workorder.status_changed", "accepted")]


def test_a_row_given_back_just_as_the_earlier_one_was_sent_goes_at_once(receiver, owner, no_policies,
                                                                        monkeypatch):
    _endpoint(receiver, owner, events=[E.WORK_ORDER_STATUS_CHANGED])
    wo = workorder_via_service()
    tech = TechnicianFactory()
    _assign(wo, tech)
    workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
    first, second = _rows()
    Notification.objects.filter(pk=first.pk).update(status="sending", attempts=1)  # another worker sends it
    real, answers = webhooks.earlier_undelivered, []

    def looking(notification):
        answers.append(real(notification))
        if len(answers) == 1:
            # ... and is done right after this one looked: its hand-over finds this one still
            # claimed, so hands nothing over.
            Notification.objects.filter(pk=first.pk).update(status="sent", sent_at=timezone.now())
            first.refresh_from_db()
            webhooks.after_attempt(first, outcome="sent")
        return answers[-1]

    monkeypatch.setattr(webhooks, "earlier_undelivered", looking)
    # Not left waiting for the sweep (up to a minute and a half): sent now.
    assert notification_deliver(notification_id=second.pk) == "sent"
    assert answers[0] is True
    assert [e["data"]["to_status"] for e in receiver.events()] == ["accepted"]


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:8000/hook", "loopback, private or reserved"),
    ("https://10.1.2.3/hook", "loopback, private or reserved"),
    ("http://[::1]/hook", "loopback, private or reserved"),
    ("ftp://example.com/hook", "Enter an http:// or https:// address."),
])
def test_admin_refuses_an_address_webhooks_may_not_go_to(owner, client, settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    client.force_login(owner)
    response = client.post(reverse("admin:notifications_webhookendpoint_add"), {
        "name": "Internal", "url": url, "events": [E.WORK_ORDER_CREATED], "is_active": "on",
    })
    assert response.status_code == 200 and message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_admin_registers_an_endpoint_and_shows_its_secret_once(owner, client, receiver):
    client.force_login(owner)
    response = client.post(reverse("admin:notifications_webhookendpoint_add"), {
        "name": "ERP", "url": receiver.url, "events": [E.WORK_ORDER_CREATED, E.PART_USED],
        "contact_email": "ops@example.com", "is_active": "on",
    }, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.created_by == owner
    assert endpoint.events == [E.WORK_ORDER_CREATED, E.PART_USED]
    assert endpoint.secret in response.content.decode()
    page = client.get(reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()


def test_no_endpoint_no_query(db, django_assert_num_queries):
    webhooks.endpoints_for(E.WORK_ORDER_CREATED)  # this process's copy, read once
    with django_assert_num_queries(0):
        assert webhooks.webhook_rows(E.WORK_ORDER_CREATED, 1, lambda: pytest.fail("built for nobody")) == []
        assert not webhooks.listening(*E.values)


# --- The other places events come from -------------------------------------------------------


def _types(subject_id):
    return [r.payload["type"] for r in _rows(subject_id=subject_id)]


def test_the_whole_life_of_an_order_is_told_in_order(receiver, owner, no_policies, settings):
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    _endpoint(receiver, owner, events=[E.WORK_ORDER_COMPLETED, E.WORK_ORDER_CLOSED, E.SURVEY_ANSWERED])
    tech = TechnicianFactory()
    wo = workorder_via_service()
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
    from workorders.models import Survey
    from workorders.survey import survey_answer

    survey = Survey.objects.get(work_order=wo)
    survey_answer(token=survey.token, satisfaction=5, solved=True, comment="Quick.")

    assert _types(wo.pk) == ["workorder.completed", "survey.answered", "workorder.closed"]
    notifications_deliver_due(now=timezone.now() + timedelta(minutes=5))
    notifications_deliver_due(now=timezone.now() + timedelta(minutes=5))
    notifications_deliver_due(now=timezone.now() + timedelta(minutes=5))
    events = receiver.events()
    assert [e["type"] for e in events] == ["workorder.completed", "survey.answered", "workorder.closed"]
    assert events[1]["data"]["satisfaction"] == 5 and events[1]["data"]["comment"] == "Quick."


def test_an_escalation_is_told(receiver, owner, no_policies):
    from tests.factories import EscalationLevelFactory, SlaPolicyFactory
    from workorders.sla import escalation_sweep

    _endpoint(receiver, owner, events=[E.ESCALATION_RAISED])
    level = EscalationLevelFactory(percent=100, notify_roles="", name="Tell the manager")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30)
    wo = workorder_via_service()
    escalation_sweep(now=wo.next_escalation_at)

    [row] = _rows(subject_id=wo.pk)
    assert row.payload["type"] == "escalation.raised"
    assert row.payload["data"]["level"] == "Tell the manager" and row.payload["data"]["number"] == wo.number


def test_automatic_assignment_tells_each_order(receiver, owner, no_policies):
    from workorders.services import Assignment, workorders_assign_many

    _endpoint(receiver, owner, events=[E.WORK_ORDER_ASSIGNED])
    tech = TechnicianFactory()
    first, second = workorder_via_service(), workorder_via_service()
    outcome = workorders_assign_many(actor_role="system", assignments=[
        Assignment(work_order_id=first.pk, technician_id=tech.pk),
        Assignment(work_order_id=second.pk, technician_id=tech.pk),
    ])
    assert outcome.refused == []
    assert _types(first.pk) == ["workorder.assigned"] and _types(second.pk) == ["workorder.assigned"]
    assert _rows(subject_id=first.pk).get().payload["data"]["technician_id"] == tech.pk


def test_parts_used_on_a_job_are_told(receiver, owner, technician):
    import uuid

    from completion.services import completion_submit
    from tests.factories import PartFactory
    from tests.technicians.helpers import job_for, signature_png

    _endpoint(receiver, owner, events=[E.PART_USED, E.WORK_ORDER_COMPLETED])
    wo = job_for(technician)
    part = PartFactory(part_number="DP-100", name="Drain pump", unit_price=180)
    report, _ = completion_submit(
        work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done="Pump replaced.",
        labour_minutes=60, signer_name="Wang", signature=signature_png(), parts=[("DP-100", "2")],
    )
    assert _types(wo.pk) == ["workorder.completed", "part.used"]
    used = _rows(subject_id=wo.pk).last().payload["data"]
    assert used["report_id"] == report.pk
    assert used["parts"] == [{"part_id": part.pk, "part_number": "DP-100", "name": "Drain pump",
                              "unit": part.unit, "quantity": "2"}]


def test_a_receiver_that_does_not_answer_holds_no_customer_or_staff_message(receiver, owner, no_policies, settings,
                                                                            django_capture_on_commit_callbacks,
                                                                            monkeypatch):
    from notifications import services

    settings.WEBHOOK_TIMEOUT = 1
    receiver.hang = 3  # longer than the timeout: each delivery costs the sweep a second
    _endpoint(receiver, owner)
    # After commit, the webhook deliveries are handed to workers in tasks of their own.
    settings.OUTBOX_ENQUEUE_ON_COMMIT, settings.OUTBOX_ENQUEUE_BATCH_MS = True, 50
    published = {"messages": [], "webhooks": []}
    monkeypatch.setattr(services.PUBLISHER, "publish", published["messages"].extend)
    monkeypatch.setattr(services.WEBHOOK_PUBLISHER, "publish", published["webhooks"].extend)
    with django_capture_on_commit_callbacks(execute=True):
        orders = [workorder_via_service() for _ in range(3)]
        for wo in orders:
            _assign(wo, TechnicianFactory())
    services.PUBLISHER.flush()
    services.WEBHOOK_PUBLISHER.flush()
    endpoint_ids = set(_rows().values_list("id", flat=True))
    message_ids = set(Notification.objects.exclude(channel=Notification.Channel.ENDPOINT).values_list("id", flat=True))
    assert endpoint_ids and message_ids  # the orders are told to the endpoint, the technicians get an SMS
    assert set(published["webhooks"]) == endpoint_ids and set(published["messages"]) == message_ids

    # Were the tasks lost, beat's two retry sweeps take them apart: the messages' sends every SMS
    # and tries no delivery; the deliveries' tries those (each in vain, a second each).
    from notifications.tasks import notifications_sweep as messages_task, webhooks_sweep as webhooks_task

    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        assert messages_task()["sent"] == len(message_ids)
        assert not WebhookAttempt.objects.exists()
        assert set(Notification.objects.filter(pk__in=message_ids).values_list("status", flat=True)) == {"sent"}
        outcome = webhooks_task()
    assert outcome["sent"] == 0 and WebhookAttempt.objects.exists()
    assert set(_rows(pk__in=endpoint_ids).values_list("status", flat=True)) == {"pending"}
