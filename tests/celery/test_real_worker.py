"""Background work with a REAL Celery worker and beat (subprocesses) on Redis and PostgreSQL.

The worker and beat run the production code paths: beat's every-second sweeps (the
production schedule says every minute), the on-commit delivery task, the outbox
retry sweep. The test process controls the clock of what it creates; the workers
run on the real clock, and the test polls the database and a local HTTP stub.

Skipped, with the reason shown, when no Redis answers.
"""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.factories import EscalationLevelFactory, SlaPolicyFactory, TechnicianFactory, workorder_via_service
from workorders.lifecycle import Status
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import Escalation, Survey, WorkOrder
from workorders.services import workorder_transition

from .support import (
    CeleryProcesses,
    ProviderStub,
    RedisServer,
    database_url,
    drop_queue,
    point_app_at,
    redis_reachable,
    redis_url,
    restore_app,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def provider():
    stub = ProviderStub()
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def shared_redis():
    url = redis_url()
    if not redis_reachable(url):
        pytest.skip(f"no Redis reachable at {url}; start redis-server or set REDIS_URL")
    return url


@pytest.fixture(scope="module")
def worker(shared_redis, provider, django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker and beat for the tests on the shared Redis, on a queue of their own."""
    from django.conf import settings

    queue = f"test-{uuid.uuid4().hex[:12]}"
    procs = CeleryProcesses(
        broker=shared_redis, queue=queue, database=database_url(settings.DATABASES["default"]),
        tmp_path=tmp_path_factory.mktemp("celery"),
        env={"SMS_API_URL": f"{provider.url}/sms", "NOTIFY_WEBHOOK_URL": f"{provider.url}/robot"},
    ).start()
    old = point_app_at(shared_redis, queue)
    try:
        procs.wait_ready()
        yield procs
    finally:
        procs.stop()
        restore_app(old)
        drop_queue(shared_redis, queue)


@pytest.fixture
def publish_links(settings):
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0  # the sweep may take a row at once (as in the workers)
    settings.OUTBOX_ENQUEUE_ON_COMMIT = True  # hand new rows to the worker after commit
    SlaPolicy.objects.all().delete()


def test_a_deadline_passes_and_its_escalation_fires_once(worker, provider, publish_links):
    level = EscalationLevelFactory(percent=100, notify_roles="", notify_webhook=True, name="Tell the manager")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30,
                     arrival_minutes=None, resolution_minutes=None)
    # Created 29 min 58 s ago: its first-response deadline passes two seconds from now.
    with time_machine.travel(timezone.now() - timedelta(minutes=30) + timedelta(seconds=2), tick=False):
        wo = workorder_via_service()

    wait_until(lambda: Escalation.objects.filter(work_order=wo).exists(), timeout=30,
               what="the escalation", logs=worker.logs)
    wait_until(lambda: provider.on("/robot"), timeout=20, what="the group robot message", logs=worker.logs)
    esc = Escalation.objects.get(work_order=wo)
    assert esc.fired_at >= esc.due_at

    # Beat keeps sweeping every second: a few more sweeps fire nothing more.
    sweeps = worker.log("beat").count("sla-escalation-sweep")
    wait_until(lambda: worker.log("beat").count("sla-escalation-sweep") >= sweeps + 3, timeout=15,
               what="three more sweeps", logs=worker.logs)
    assert Escalation.objects.filter(work_order=wo).count() == 1
    assert [wo.number in p["json"]["text"]["content"] for p in provider.on("/robot")].count(True) == 1
    wo.refresh_from_db()
    assert wo.next_escalation_at is None  # its one level has fired


def test_two_workers_sweeping_at_once_fire_each_escalation_once(shared_redis, provider, publish_links, tmp_path):
    from django.conf import settings

    from workorders.models import WorkOrderEvent
    from workorders.tasks import sla_escalation_sweep

    level = EscalationLevelFactory(percent=100, notify_roles="", notify_webhook=True, name="Tell the manager")
    SlaPolicyFactory(is_default=True, escalation_matrix=level.matrix, first_response_minutes=30,
                     arrival_minutes=None, resolution_minutes=None)
    # Forty orders whose first-response deadline has just passed, before any worker runs.
    with time_machine.travel(timezone.now() - timedelta(minutes=31), tick=False):
        orders = [workorder_via_service() for _ in range(40)]
    queue = f"test-{uuid.uuid4().hex[:12]}"
    # Small batches: each sweep claims two orders at a time, so the two workers'
    # sweeps interleave over the same rows.
    procs = CeleryProcesses(
        broker=shared_redis, queue=queue, database=database_url(settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"NOTIFY_WEBHOOK_URL": f"{provider.url}/robot", "SLA_SWEEP_BATCH": "2", "SLA_SWEEP_MAX_ROUNDS": "50"},
    )
    old = point_app_at(shared_redis, queue)
    try:
        # Sweeps waiting in the queue before the workers start: both take one at once.
        for _ in range(6):
            sla_escalation_sweep.apply_async()
        procs.start()
        procs._spawn("worker2", ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}-2@%h", "--without-gossip",
                                 "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
        procs.wait_ready()
        wait_until(lambda: " ready." in procs.log("worker2"), timeout=30, what="the second worker", logs=procs.logs)
        ids = [wo.pk for wo in orders]
        wait_until(lambda: Escalation.objects.filter(work_order_id__in=ids).count() >= 40, timeout=60,
                   what="forty escalations", logs=procs.logs)
        sweeps = procs.log("beat").count("sla-escalation-sweep")
        wait_until(lambda: procs.log("beat").count("sla-escalation-sweep") >= sweeps + 3, timeout=15,
                   what="three more sweeps", logs=procs.logs)
        wait_until(lambda: len(provider.on("/robot")) >= 40, timeout=30, what="the robot messages",
                   logs=procs.logs)

        # Both workers swept ...
        for name in ("worker", "worker2"):
            assert "sla_escalation_sweep" in procs.log(name), procs.logs()
        # ... and each escalation fired once: one row, one event, one message per order.
        assert Escalation.objects.filter(work_order_id__in=ids).count() == 40
        assert WorkOrderEvent.objects.filter(work_order_id__in=ids, action="escalate").count() == 40
        for wo in orders:
            assert [wo.number in p["json"]["text"]["content"] for p in provider.on("/robot")].count(True) == 1
    finally:
        procs.stop()
        restore_app(old)
        drop_queue(shared_redis, queue)


def test_the_survey_message_is_delivered_after_resolve(worker, provider, publish_links):
    tech = TechnicianFactory()
    wo = workorder_via_service()
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
    for action in ("accept", "depart", "arrive", "complete"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
    survey = Survey.objects.get(work_order=wo)
    link = f"https://service.example.com/survey/{survey.token}/"

    def invites():
        return [r for r in provider.on("/sms") if link in r["json"]["text"]]

    [sms] = wait_until(invites, timeout=20, what="the survey SMS", logs=worker.logs)
    assert sms["json"]["to"] == wo.contact_phone
    invite = Notification.objects.get(subject_id=wo.pk, template="survey_invite")
    wait_until(lambda: Notification.objects.get(pk=invite.pk).status == "sent", timeout=10, what="sent status")
    assert Notification.objects.get(pk=invite.pk).attempts == 1


def test_with_the_broker_stopped_during_the_change_the_message_goes_out_once_it_is_back(
    shared_redis, provider, publish_links, django_db_blocker, tmp_path
):
    from django.conf import settings

    redis = RedisServer(tmp_path)
    if redis.binary is None:
        pytest.skip("redis-server is not installed")
    redis.start()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    procs = CeleryProcesses(
        broker=redis.url, queue=queue, database=database_url(settings.DATABASES["default"]), tmp_path=tmp_path,
        env={"SMS_API_URL": f"{provider.url}/sms"},
    ).start()
    old = point_app_at(redis.url, queue)
    try:
        procs.wait_ready()
        tech = TechnicianFactory()
        wo = workorder_via_service()
        workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
        workorder_transition(work_order_id=wo.pk, action="accept", actor=tech.user)

        redis.stop()
        # The technician departs while Redis is down: the change commits all the same.
        workorder_transition(work_order_id=wo.pk, action="depart", actor=tech.user)
        assert WorkOrder.objects.get(pk=wo.pk).status == Status.EN_ROUTE
        departed = Notification.objects.get(subject_id=wo.pk, template="technician_departed")
        assert departed.status == "pending"
        tracking = f"/track/{wo.public_token}/"
        assert not [r for r in provider.on("/sms") if tracking in r["json"]["text"]]

        redis.start()  # same port, empty: the on-commit task was never queued
        wait_until(lambda: [r for r in provider.on("/sms") if tracking in r["json"]["text"]], timeout=40,
                   what="the departure SMS after Redis came back", logs=procs.logs)
        # Sweeps go on every second; the message is not sent a second time.
        sweeps = procs.log("beat").count("notifications-sweep")
        wait_until(lambda: procs.log("beat").count("notifications-sweep") >= sweeps + 3, timeout=15,
                   what="three more outbox sweeps", logs=procs.logs)
        assert len([r for r in provider.on("/sms") if tracking in r["json"]["text"]]) == 1
        departed.refresh_from_db()
        assert departed.status == "sent" and departed.sent_at is not None
    finally:
        procs.stop()
        restore_app(old)
        redis.stop()
