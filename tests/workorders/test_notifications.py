"""The notification outbox: rows written with the change, delivered by channels, retried, never lost."""

import logging
import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.celery.support import ProviderStub
from tests.factories import (
    CustomerFactory,
    EscalationLevelFactory,
    SlaPolicyFactory,
    TechnicianFactory,
    UserFactory,
    workorder_via_service,
)
from notifications import tasks
from workorders.lifecycle import Status
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import WorkOrder
from notifications.channels import CHANNELS, Channel
from notifications.services import (
    PUBLISHER,
    _claim,
    _send_claimed,
    notification_build,
    notification_deliver,
    notification_retry,
    notifications_add,
    notifications_deliver_due,
)
from workorders.services import workorder_transition
from workorders.sla import escalation_sweep


@pytest.fixture
def provider(settings):
    stub = ProviderStub()
    settings.SMS_API_URL = f"{stub.url}/sms"
    settings.SMS_API_KEY = "sms-secret"
    settings.NOTIFY_WEBHOOK_URL = f"{stub.url}/robot?key=abc"
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    yield stub
    stub.close()


@pytest.fixture
def no_policies(db):
    SlaPolicy.objects.all().delete()


def _assign(wo, tech):
    return workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)


def test_assigned_technician_gets_an_sms_through_the_provider(provider, no_policies):
    tech = TechnicianFactory(phone="+8613700000009")
    wo = workorder_via_service()
    _assign(wo, tech)

    row = Notification.objects.get(subject_id=wo.pk)
    assert (row.channel, row.recipient, row.template, row.status) == ("sms", "+8613700000009",
                                                                      "technician_assigned", "pending")
    assert notification_deliver(notification_id=row.pk) == "sent"

    [sms] = provider.on("/sms")
    assert sms["json"]["to"] == "+8613700000009"
    assert wo.number in sms["json"]["text"] and f"https://service.example.com/tech/jobs/{wo.pk}/" in sms["json"]["text"]
    assert sms["headers"]["Authorization"] == "Bearer sms-secret"
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1


def test_customer_is_told_when_the_technician_departs_with_the_tracking_link_in_their_language(provider, no_policies):
    tech = TechnicianFactory()
    wo = workorder_via_service(customer=CustomerFactory(language="en"), language="en", email="ann@example.com")
    _assign(wo, tech)
    workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
    workorder_transition(work_order_id=wo.pk, action="depart", actor=tech.user)

    rows = Notification.objects.filter(subject_id=wo.pk, template="technician_departed")
    assert sorted(rows.values_list("channel", "recipient", "language")) == [
        ("email", "ann@example.com", "en"), ("sms", wo.contact_phone, "en"),
    ]
    assert notifications_deliver_due(now=timezone.now() + timedelta(minutes=5)) == {"sent": 3, "retry": 0, "failed": 0}
    link = f"https://service.example.com/track/{wo.public_token}/"
    [sms] = provider.on("/sms")[-1:]
    assert "on the way" in sms["json"]["text"] and link in sms["json"]["text"]
    [email] = mail.outbox
    assert email.to == ["ann@example.com"] and link in email.body
    assert email.subject == "Your technician is on the way"


def test_a_chinese_customer_gets_the_message_in_chinese(provider, no_policies):
    wo = workorder_via_service(customer=CustomerFactory(language="zh-hans"), language="zh-hans")
    tech = TechnicianFactory()
    _assign(wo, tech)
    workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)
    workorder_transition(work_order_id=wo.pk, action="depart", actor=tech.user)
    assert Notification.objects.get(subject_id=wo.pk, template="technician_departed").language == "zh-hans"


def test_escalations_go_to_the_group_robot_as_json(provider, no_policies):
    level = EscalationLevelFactory(percent=100, notify_roles="", notify_webhook=True, name="Tell the manager")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30)
    wo = workorder_via_service()
    escalation_sweep(now=wo.next_escalation_at)
    row = Notification.objects.get(subject_id=wo.pk, template="escalation")
    assert (row.channel, row.recipient) == ("webhook", "")  # the configured robot; its key stays in settings

    notification_deliver(notification_id=row.pk)
    [post] = provider.on("/robot")
    assert post["json"]["msgtype"] == "text"
    assert wo.number in post["json"]["text"]["content"] and "Tell the manager" in post["json"]["text"]["content"]


def test_a_provider_error_code_is_a_failed_attempt(provider, no_policies):
    provider.body = {"errcode": 93000, "errmsg": "invalid webhook url"}
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    row = Notification.objects.get(subject_id=wo.pk)
    assert notification_deliver(notification_id=row.pk) == "retry"
    row.refresh_from_db()
    assert row.status == "pending" and "93000" in row.last_error


def test_failed_sends_are_retried_with_backoff_then_marked_failed_and_shown_in_admin(provider, no_policies, client,
                                                                                     settings):
    settings.OUTBOX_MAX_ATTEMPTS = 4
    provider.status = 500
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        wo = workorder_via_service()
        _assign(wo, TechnicianFactory())
        row = Notification.objects.get(subject_id=wo.pk)
        assert notification_deliver(notification_id=row.pk) == "retry"
        waits = []
        for _attempt in range(3):
            row.refresh_from_db()
            waits.append(row.next_attempt_at - timezone.now())
            clock.move_to(row.next_attempt_at - timedelta(seconds=1))
            assert notifications_deliver_due() == {"sent": 0, "retry": 0, "failed": 0}  # not yet
            clock.move_to(row.next_attempt_at)
            notifications_deliver_due()
    # 1, 2, then 4 minutes between attempts; the fourth failure is the last.
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 4)
    assert "HTTP 500" in row.last_error
    assert len(provider.on("/sms")) == 4

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get("/admin/notifications/notification/?status__exact=failed")
    assert page.status_code == 200 and "HTTP 500" in page.content.decode()

    # Fixed at the provider; an administrator sends it again.
    provider.status = 200
    assert notification_retry(notification_ids=[row.pk]) == 1
    assert notification_deliver(notification_id=row.pk) == "sent"


def test_the_task_and_the_sweep_never_both_send_one_row(provider, no_policies):
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    row = Notification.objects.get(subject_id=wo.pk)
    tasks.deliver_notifications([row.pk])
    tasks.deliver_notifications([row.pk])  # the broker redelivers the task
    assert notifications_deliver_due(now=timezone.now() + timedelta(hours=1))["sent"] == 0
    assert len(provider.on("/sms")) == 1


def test_a_send_interrupted_by_a_dead_worker_is_picked_up_when_its_claim_lapses(provider, no_policies):
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    row = Notification.objects.get(subject_id=wo.pk)
    # A worker claimed it and died before sending.
    Notification.objects.filter(pk=row.pk).update(status="sending", attempts=1,
                                                  next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert notifications_deliver_due(now=timezone.now() + timedelta(minutes=1))["sent"] == 0
    assert notifications_deliver_due(now=timezone.now() + timedelta(minutes=6))["sent"] == 1
    assert len(provider.on("/sms")) == 1


def test_every_attempt_at_a_message_carries_its_delivery_key(provider, no_policies, settings):
    """The SMS provider and the group robot get the row's key as an Idempotency-Key header on
    every attempt, an email as its Message-ID: a provider can drop a message sent again."""
    level = EscalationLevelFactory(percent=100, notify_roles="", notify_webhook=True, extra_recipients="boss@example.com")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30)
    wo = workorder_via_service()
    escalation_sweep(now=wo.next_escalation_at)
    _assign(wo, TechnicianFactory())
    sms = Notification.objects.get(subject_id=wo.pk, channel="sms")
    robot = Notification.objects.get(subject_id=wo.pk, channel="webhook")
    email = Notification.objects.get(subject_id=wo.pk, channel="email")
    assert len({sms.delivery_key, robot.delivery_key, email.delivery_key}) == 3, "one key per message"

    provider.status = 503
    assert notification_deliver(notification_id=sms.pk) == "retry"
    provider.status = 200
    assert notifications_deliver_due(now=timezone.now() + timedelta(hours=1)) == {"sent": 3, "retry": 0, "failed": 0}

    attempts = provider.on("/sms")
    assert [a["headers"]["Idempotency-Key"] for a in attempts] == [str(sms.delivery_key)] * 2
    [post] = provider.on("/robot")
    assert post["headers"]["Idempotency-Key"] == str(robot.delivery_key)
    [message] = mail.outbox
    assert message.extra_headers["Message-ID"] == f"<notification-{email.delivery_key}@example.com>"


def test_a_message_written_before_delivery_keys_gets_one_from_its_id(provider, no_policies):
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    row = Notification.objects.get(subject_id=wo.pk)
    Notification.objects.filter(pk=row.pk).update(delivery_key=None)  # as the migration left older rows

    provider.status = 503
    notification_deliver(notification_id=row.pk)
    provider.status = 200
    notifications_deliver_due(now=timezone.now() + timedelta(hours=1))

    keys = [a["headers"]["Idempotency-Key"] for a in provider.on("/sms")]
    assert len(keys) == 2 and keys[0] == keys[1] and uuid.UUID(keys[0])


class SlowProvider(Channel):
    """An SMS provider that takes 60% of a claim's lease to answer each message; while it sends
    the second one, another worker's sweep runs (``during_second``)."""

    name = "sms"

    def __init__(self, clock, lease: timedelta, during_second):
        self.clock, self.lease, self.during_second = clock, lease, during_second
        self.sent: list[tuple[str, str]] = []

    def send(self, message):
        self.sent.append((message.recipient, message.key))
        self.clock.shift(self.lease * 0.6)
        if len(self.sent) == 2:
            self.during_second()


def test_a_sweep_running_while_a_slow_one_works_through_its_batch_sends_nothing_twice(no_policies, settings,
                                                                                      monkeypatch):
    """Each message is claimed when it is sent, not when the batch is read: the claims on the
    rows further down the batch do not lapse while a slow provider answers the first ones."""
    lease = timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        rows = notifications_add([
            notification_build(channel="sms", recipient=f"+861380000000{i}", template="survey_reminder",
                               payload={"number": f"WO-{i}", "link": "x"})
            for i in range(3)
        ])
        clock.shift(timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS))
        other_worker = []
        provider = SlowProvider(clock, lease, lambda: other_worker.append(notifications_deliver_due()))
        monkeypatch.setitem(CHANNELS, "sms", provider)

        first_worker = notifications_deliver_due()

    # The other worker, 1.2 leases in, found the second message still under a live claim and
    # the third not claimed yet: it sent the third, and the first worker then skipped it.
    assert other_worker == [{"sent": 1, "retry": 0, "failed": 0}]
    assert first_worker == {"sent": 2, "retry": 0, "failed": 0}
    assert sorted(recipient for recipient, _key in provider.sent) == [r.recipient for r in rows]
    assert set(Notification.objects.filter(pk__in=[r.pk for r in rows]).values_list("status", "attempts")) == {
        ("sent", 1)
    }


def test_a_worker_whose_claim_lapsed_does_not_undo_the_claim_of_the_one_that_took_over(provider, no_policies,
                                                                                         settings):
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    row = Notification.objects.get(subject_id=wo.pk)
    now = timezone.now()
    hung = _claim(row.pk, now=now, lapsed_too=False)  # a worker hangs on the provider ...
    later = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
    took_over = _claim(row.pk, now=later, lapsed_too=True)  # ... its claim lapses, the sweep takes the row
    assert (hung.attempts, took_over.attempts) == (1, 2)

    provider.status = 504
    assert _send_claimed(hung) == "retry"  # the hung worker's send fails at last: it records nothing
    provider.status = 200
    assert _send_claimed(took_over) == "sent"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert notifications_deliver_due(now=later + timedelta(days=1))["sent"] == 0


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_change_commits_and_the_sweep_delivers_it_once(provider, monkeypatch, caplog,
                                                                                settings):
    SlaPolicy.objects.all().delete()

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    settings.OUTBOX_ENQUEUE_ON_COMMIT = True
    monkeypatch.setattr(tasks.deliver_notifications, "apply_async", broker_down)
    wo = workorder_via_service()
    tech = TechnicianFactory()
    with caplog.at_level(logging.WARNING, logger="notifications.services"):
        _assign(wo, tech)
        PUBLISHER.flush()  # the after-commit publish runs in a thread of its own

    assert WorkOrder.objects.get(pk=wo.pk).status == Status.ASSIGNED  # committed all the same
    assert "the outbox sweep will send them" in caplog.text
    row = Notification.objects.get(subject_id=wo.pk)
    assert row.status == "pending" and provider.requests == []

    later = timezone.now() + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    assert notifications_deliver_due(now=later)["sent"] == 1
    assert notifications_deliver_due(now=later + timedelta(hours=1))["sent"] == 0
    assert len(provider.on("/sms")) == 1


@pytest.mark.django_db(transaction=True)
def test_after_a_broker_failure_the_next_commits_do_not_wait_for_it_again(provider, monkeypatch, settings):
    SlaPolicy.objects.all().delete()
    tries = []

    def broker_down(*args, **kwargs):
        tries.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # Given each commit hands its rows to the broker inside the request, and the broker is down
    settings.OUTBOX_ENQUEUE_ON_COMMIT = True
    settings.OUTBOX_ENQUEUE_BATCH_MS = 0
    monkeypatch.setattr(tasks.deliver_notifications, "apply_async", broker_down)
    tech = TechnicianFactory()
    orders = [workorder_via_service() for _ in range(3)]
    # When three orders are assigned one after the other
    for wo in orders:
        _assign(wo, tech)
    # Then the broker was tried once (a try costs up to the 2 s connect timeout), all three committed,
    # and the sweep sends the three messages
    assert len(tries) == 1
    assert set(WorkOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        Status.ASSIGNED}
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    assert notifications_deliver_due(now=later)["sent"] == 3
    assert len(provider.on("/sms")) == 3


@pytest.mark.django_db(transaction=True)
def test_rows_committed_close_together_are_handed_to_the_broker_in_one_task(provider, monkeypatch, settings):
    SlaPolicy.objects.all().delete()
    published = []
    monkeypatch.setattr(tasks.deliver_notifications, "apply_async",
                        lambda args, **kw: published.append(list(args[0])))
    settings.OUTBOX_ENQUEUE_ON_COMMIT = True
    settings.OUTBOX_ENQUEUE_BATCH_MS = 60_000  # nothing leaves before the flush below
    PUBLISHER.flush()
    PUBLISHER._last = time.monotonic()  # as if a task had just been published
    tech = TechnicianFactory()
    orders = [workorder_via_service() for _ in range(3)]
    for wo in orders:
        _assign(wo, tech)  # three transactions, three commits

    assert published == []  # the commits did not wait for the broker
    PUBLISHER.flush()
    rows = list(Notification.objects.filter(subject_id__in=[o.pk for o in orders])
                .order_by("id").values_list("id", flat=True))
    assert published == [rows]  # one task for all three
    PUBLISHER._last = 0.0
    # The task sends each row once, however often it runs.
    tasks.deliver_notifications(published[0])
    tasks.deliver_notifications(published[0])
    assert len(provider.on("/sms")) == 3


@pytest.mark.django_db(transaction=True)
def test_with_no_batching_each_commit_publishes_at_once(provider, monkeypatch, settings):
    SlaPolicy.objects.all().delete()
    published = []
    monkeypatch.setattr(tasks.deliver_notifications, "apply_async",
                        lambda args, **kw: published.append(list(args[0])))
    settings.OUTBOX_ENQUEUE_ON_COMMIT = True
    settings.OUTBOX_ENQUEUE_BATCH_MS = 0
    wo = workorder_via_service()
    _assign(wo, TechnicianFactory())
    assert published == [[Notification.objects.get(subject_id=wo.pk).pk]]


def test_the_outbox_tasks_keep_their_names_so_queued_tasks_and_the_beat_schedule_still_find_them(settings):
    from config.celery import app

    app.loader.import_default_modules()
    # Beat sends core.tasks.periodic with the task's name (core/periodic.py).
    scheduled = {entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "workorders.tasks.notifications_sweep" in scheduled
    for name in scheduled | {"workorders.tasks.deliver_notifications"}:
        assert name in app.tasks, name
