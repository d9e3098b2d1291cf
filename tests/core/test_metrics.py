"""/metrics (Prometheus) for allowed scrapers only, what it counts, and the request id that follows a
request into its logs and the tasks it enqueues."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from core.observability import REQUEST_ID, RequestIdFilter, task_publish
from tests.workorders.test_escalation import matrix, minutes, new_order, policy  # noqa: F401 (fixtures)
from workorders.sla import escalation_sweep

pytestmark = pytest.mark.django_db

HIST = "fieldservice_http_request_duration_seconds"


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client=None, **extra):
    return (client or Client()).get("/metrics", **extra)


def test_metrics_are_for_the_allowed_addresses_or_the_token_and_404_to_anyone_else(settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1", "10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-token"
    assert scrape().status_code == 200  # the test client comes from 127.0.0.1
    assert scrape(REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(REMOTE_ADDR="203.0.113.9").status_code == 404
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    answer = scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    # A forged X-Forwarded-For changes nothing without trusted proxies.
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 404


def test_requests_are_timed_by_view_method_and_status(client, fresh_rate_limits):
    before = sample(f"{HIST}_count", view="intake:request", method="GET", status="200")
    missing = sample(f"{HIST}_count", view="unmatched", method="GET", status="404")
    assert client.get("/request/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    assert sample(f"{HIST}_count", view="intake:request", method="GET", status="200") == before + 1
    assert sample(f"{HIST}_count", view="unmatched", method="GET", status="404") == missing + 1
    text = scrape().content.decode()
    assert f'{HIST}_bucket{{le="0.2",method="GET",status="200",view="intake:request"}}' in text


def test_the_liveness_check_is_not_counted(client):
    before = sample(f"{HIST}_count", view="healthz", method="GET", status="200")
    response = client.get("/healthz")
    assert response.status_code == 200 and "X-Request-ID" not in response
    assert sample(f"{HIST}_count", view="healthz", method="GET", status="200") == before


def test_the_scrape_reads_the_outbox_beat_and_queue_now(client):
    from core.models import PeriodicRun
    from django.utils import timezone

    from notifications.models import Notification

    Notification.objects.create(channel="sms", recipient="+8613800000000", template="technician_departed",
                                status="pending", created_at=timezone.now() - timedelta(minutes=2))
    PeriodicRun.objects.create(name="workorders.tasks.notifications_sweep", tick=1,
                               started_at=timezone.now() - timedelta(seconds=30))
    text = scrape().content.decode()
    lines = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
             if line and not line.startswith("#")}
    assert lines["fieldservice_outbox_pending"] >= 1
    assert "fieldservice_outbox_oldest_pending_seconds" in lines
    assert 29 <= lines["fieldservice_beat_last_run_age_seconds"] < 90


def test_celery_tasks_are_counted_with_their_state_and_duration():
    from config.celery import app

    app.loader.import_default_modules()
    sweep = app.tasks["reports.tasks.reports_facts_sweep"]
    ok = sample("fieldservice_celery_tasks_total", task=sweep.name, state="SUCCESS")
    timed = sample("fieldservice_celery_task_duration_seconds_count", task=sweep.name)
    sweep.apply()
    assert sample("fieldservice_celery_tasks_total", task=sweep.name, state="SUCCESS") == ok + 1
    assert sample("fieldservice_celery_task_duration_seconds_count", task=sweep.name) == timed + 1

    failed = sample("fieldservice_celery_tasks_total", task="core.tasks.periodic", state="FAILURE")
    result = app.tasks["core.tasks.periodic"].apply(args=("no.such.task", 60.0))
    assert result.failed()
    assert sample("fieldservice_celery_tasks_total", task="core.tasks.periodic", state="FAILURE") == failed + 1


def test_escalations_and_sla_breaches_are_counted_by_target(policy):  # noqa: F811
    warned = sample("fieldservice_escalations_total", target="first_response", breached="no")
    breached = sample("fieldservice_escalations_total", target="first_response", breached="yes")
    new_order()
    assert escalation_sweep(now=minutes(45)) == 1  # 75 %: a warning
    assert escalation_sweep(now=minutes(60)) == 1  # 100 %: the promise is broken
    assert sample("fieldservice_escalations_total", target="first_response", breached="no") == warned + 1
    assert sample("fieldservice_escalations_total", target="first_response", breached="yes") == breached + 1


# --- the request id ---


def test_each_answer_carries_a_request_id_and_a_proxys_plain_id_is_kept(client, fresh_rate_limits):
    first, second = client.get("/request/"), client.get("/request/")
    assert len(first["X-Request-ID"]) == 16 and first["X-Request-ID"] != second["X-Request-ID"]
    assert client.get("/request/", HTTP_X_REQUEST_ID="lb-7f3a-0001")["X-Request-ID"] == "lb-7f3a-0001"
    forged = client.get("/request/", HTTP_X_REQUEST_ID="x\nSet-Cookie: a=b")["X-Request-ID"]
    assert "\n" not in forged and len(forged) == 16


@pytest.fixture
def json_log():
    """Django's JSON formatter (LOG_FORMAT=json) on the root logger, into a buffer."""
    from pythonjsonlogger.json import JsonFormatter

    from config.celery import app

    app.loader.import_default_modules()  # (sets Django's logging up again: before the handler is added)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                                       rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_the_request_id_follows_the_request_into_the_task_it_enqueues_and_its_json_logs(json_log):
    from config.celery import app

    # A request enqueues a task: the message carries the request's id ...
    headers = {}
    token = REQUEST_ID.set("req-42abc")
    try:
        logging.getLogger("workorders.views").info("taking the request")
        task_publish(sender="workorders.tasks.deliver_notifications", headers=headers)
    finally:
        REQUEST_ID.reset(token)
    assert headers == {"request_id": "req-42abc"}
    # ... and the worker's log lines for that task carry it, as the request's did
    sweep = app.tasks["workorders.tasks.survey_sweep"]
    original = sweep.run

    def logged_run():
        logging.getLogger("workorders.tasks").info("sweeping")
        return original()

    sweep.run = logged_run
    try:
        sweep.apply(headers=headers)
    finally:
        del sweep.run
    records = {r["message"]: r for r in json_log()}
    assert records["taking the request"]["request_id"] == "req-42abc"
    assert records["sweeping"]["request_id"] == "req-42abc"
    assert records["sweeping"]["logger"] == "workorders.tasks" and records["sweeping"]["level"] == "INFO"
    assert REQUEST_ID.get() is None  # nothing left behind for the worker's next task


def test_a_log_line_in_a_view_carries_the_request_id_of_its_answer(json_log, client, fresh_rate_limits, monkeypatch):
    from workorders.views import intake as views_intake

    original = views_intake.render

    def render(request, template, *args, **kwargs):
        logging.getLogger("workorders.views.intake").info("rendering %s", template)
        return original(request, template, *args, **kwargs)

    monkeypatch.setattr(views_intake, "render", render)
    response = client.get("/request/")
    line = next(r for r in json_log() if r["message"].startswith("rendering"))
    assert line["request_id"] == response["X-Request-ID"]

