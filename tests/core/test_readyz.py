"""/readyz: the servers this process needs and the outbox's backlog; /healthz stays a liveness check."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test.utils import CaptureQueriesContext
from django.db import connection
from django.utils import timezone

from core.models import PeriodicRun
from notifications.models import Notification

pytestmark = pytest.mark.django_db

ALL_CHECKS = {"database", "cache", "broker", "storage", "migrations", "beat", "outbox"}


@pytest.fixture(autouse=True)
def beat_ran():
    """Beat's last periodic run started a minute ago (what a running beat leaves)."""
    return PeriodicRun.objects.create(name="workorders.tasks.sla_escalation_sweep", tick=1,
                                      started_at=timezone.now() - timedelta(minutes=1))


def _notification(status, *, age=timedelta(0), channel="sms"):
    return Notification.objects.create(channel=channel, recipient="+8613800000000", template="technician_departed",
                                       status=status, created_at=timezone.now() - age)


def test_readyz_reports_each_server_and_the_outbox_backlog_without_login(client):
    # Given two messages waiting (the older for five minutes), one failed and one sent
    _notification("pending", age=timedelta(minutes=5))
    _notification("pending")
    _notification("failed", age=timedelta(hours=2))
    _notification("sent", age=timedelta(days=1))

    # When an anonymous monitor asks (the migrations are read once per process)
    client.get("/readyz")
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/readyz")

    # Then every check passes, and beat and the backlog are told in one short statement each besides SELECT 1
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == dict.fromkeys(ALL_CHECKS, True)
    assert 55 <= body["checks"]["beat"]["age_seconds"] <= 120
    assert body["outbox"]["pending"] == 2 and body["outbox"]["failed"] == 1
    assert 300 <= body["outbox"]["oldest_pending_seconds"] < 400
    assert len(queries) == 3
    # ... and nothing about where the servers are
    text = answer.content.decode()
    for secret in (settings.DATABASES["default"]["NAME"], "redis://", "127.0.0.1", "postgres"):
        assert secret not in text
    assert answer["Cache-Control"].startswith("max-age=0")


def test_with_nothing_waiting_the_oldest_age_is_empty(client):
    _notification("sent")
    body = client.get("/readyz").json()
    assert body["outbox"] == {"pending": 0, "failed": 0, "capped": False, "oldest_pending_seconds": None,
                              "endpoint_pending": 0}


def test_with_redis_down_readyz_answers_503_and_healthz_200(client, private_redis, settings):
    settings.CELERY_BROKER_URL = private_redis.url
    assert client.get("/readyz").status_code == 200
    # Given Redis stops (cache and broker)
    private_redis.stop()
    # When a monitor asks
    ready = client.get("/readyz")
    # Then readiness says which servers are down, and liveness that the process is fine
    assert ready.status_code == 503
    assert {name: check["ok"] for name, check in ready.json()["checks"].items()} == {
        **dict.fromkeys(ALL_CHECKS, True), "cache": False, "broker": False}
    assert "Connection refused" not in ready.content.decode()
    assert client.get("/healthz").status_code == 200
    assert client.post("/readyz").status_code == 405


def test_a_beat_silent_for_too_long_makes_readyz_503(client, settings, beat_ran):
    settings.READY_BEAT_MAX_AGE_SECONDS = 300
    PeriodicRun.objects.filter(pk=beat_ran.pk).update(started_at=timezone.now() - timedelta(minutes=6))
    answer = client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["beat"]["ok"] is False and checks["beat"]["age_seconds"] >= 360
    assert all(check["ok"] for name, check in checks.items() if name != "beat")
    # ... and a system that has never run a periodic task is not ready either
    PeriodicRun.objects.all().delete()
    beat = client.get("/readyz").json()["checks"]["beat"]
    assert beat["ok"] is False and beat["age_seconds"] is None
    # 0 leaves the check out
    settings.READY_BEAT_MAX_AGE_SECONDS = 0
    assert client.get("/readyz").status_code == 200


def test_an_outbox_backlog_over_its_thresholds_makes_readyz_503(client, settings):
    settings.READY_OUTBOX_MAX_PENDING = 2
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 600
    _notification("pending")
    _notification("pending")
    assert client.get("/readyz").status_code == 200
    _notification("pending")  # one more than allowed
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["checks"]["outbox"]["ok"] is False
    Notification.objects.all().delete()
    _notification("pending", age=timedelta(minutes=11))  # one, but waiting too long
    assert client.get("/readyz").json()["checks"]["outbox"]["ok"] is False


def test_deliveries_waiting_for_an_integration_s_receiver_do_not_make_readyz_503(client, settings):
    # An ERP's webhook receiver has been down for an hour: its deliveries wait, retried with backoff.
    settings.READY_OUTBOX_MAX_PENDING = 2
    settings.READY_OUTBOX_MAX_AGE_SECONDS = 600
    for _ in range(5):
        _notification("pending", age=timedelta(hours=1), channel="endpoint")
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["outbox"] == {"pending": 0, "failed": 0, "capped": False, "oldest_pending_seconds": None,
                                       "endpoint_pending": 5}
    # ... while our own messages waiting too long still do.
    _notification("pending", age=timedelta(minutes=11))
    assert client.get("/readyz").status_code == 503


def test_a_missing_media_folder_is_fine_until_it_is_not_a_folder(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-yet"
    assert client.get("/readyz").json()["checks"]["storage"]["ok"] is True
    (tmp_path / "a-file").write_text("x")
    settings.MEDIA_ROOT = tmp_path / "a-file"
    assert client.get("/readyz").json()["checks"]["storage"]["ok"] is False
