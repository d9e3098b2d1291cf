"""/readyz: the servers this process needs and the outbox's backlog; /healthz stays a liveness check."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test.utils import CaptureQueriesContext
from django.db import connection
from django.utils import timezone

from notifications.models import Notification

pytestmark = pytest.mark.django_db


def _notification(status, *, age=timedelta(0)):
    return Notification.objects.create(channel="sms", recipient="+8613800000000", template="technician_departed",
                                       status=status, created_at=timezone.now() - age)


def test_readyz_reports_each_server_and_the_outbox_backlog_without_login(client):
    # Given two messages waiting (the older for five minutes), one failed and one sent
    _notification("pending", age=timedelta(minutes=5))
    _notification("pending")
    _notification("failed", age=timedelta(hours=2))
    _notification("sent", age=timedelta(days=1))

    # When an anonymous monitor asks
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/readyz")

    # Then every server answers, and the backlog is told in one short statement besides SELECT 1
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "cache": True, "broker": True}
    assert body["outbox"]["pending"] == 2 and body["outbox"]["failed"] == 1
    assert 300 <= body["outbox"]["oldest_pending_seconds"] < 400
    assert len(queries) == 2
    # ... and nothing about where the servers are
    text = answer.content.decode()
    for secret in (settings.DATABASES["default"]["NAME"], "redis://", "127.0.0.1", "postgres"):
        assert secret not in text
    assert answer["Cache-Control"].startswith("max-age=0")


def test_with_nothing_waiting_the_oldest_age_is_empty(client):
    _notification("sent")
    body = client.get("/readyz").json()
    assert body["outbox"] == {"pending": 0, "failed": 0, "capped": False, "oldest_pending_seconds": None}


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
        "database": True, "cache": False, "broker": False}
    assert "Connection refused" not in ready.content.decode()
    assert client.get("/healthz").status_code == 200
    assert client.post("/readyz").status_code == 405
