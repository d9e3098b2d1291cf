"""Prometheus metrics (prometheus-client), served at ``/metrics`` to allowed scrapers only.

Counted where things happen, in the process that does them:

- ``fieldservice_http_request_duration_seconds{view,method,status}``: each request's time, by
  the URL pattern's name (``core/observability.py``); its ``_count`` is the request rate.
- ``fieldservice_celery_task_duration_seconds{task}`` and ``fieldservice_celery_tasks_total{task,state}``
  (SUCCESS, FAILURE, RETRY ...): every Celery task a worker ran.
- ``fieldservice_escalations_total{target,breached}``: SLA escalations raised by the sweep;
  ``breached="yes"`` for levels at 100 % or more of the target (the SLA was missed).

Read from the servers at each scrape (a few short statements; ``collect_current``): the
numbers of ``/readyz``'s reports (the outbox: ``fieldservice_outbox_pending``,
``…_failed``, ``…_oldest_pending_seconds``), the age of beat's last periodic run, and the
length of the Celery queue in Redis.

Several processes (gunicorn's workers, Celery's pool) each count their own; with
``PROMETHEUS_MULTIPROC_DIR`` set (an empty folder, the same for all processes of a container)
they write to files there and ``/metrics`` (and the worker's ``WORKER_METRICS_PORT``) adds them up.
"""

import ipaddress
import logging
import os

from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_SECONDS = Histogram(
    "fieldservice_http_request_duration_seconds", "Time to answer a request, by view.",
    ["view", "method", "status"], buckets=BUCKETS,
)
TASK_SECONDS = Histogram(
    "fieldservice_celery_task_duration_seconds", "Time a Celery task ran, by task.", ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
TASKS = Counter("fieldservice_celery_tasks", "Celery tasks run, by task and final state.", ["task", "state"])
ESCALATIONS = Counter(
    "fieldservice_escalations", "SLA escalations raised, by target; breached: the level is at 100 % or more.",
    ["target", "breached"],
)

_request_children: dict[tuple, object] = {}


def observe_request(request, status: int, seconds: float) -> None:
    match = request.resolver_match
    key = (match.view_name if match is not None else "unmatched", request.method, status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children.setdefault(key, REQUEST_SECONDS.labels(key[0], key[1], str(status)))
    child.observe(seconds)


def observe_task(name: str, state: str, seconds: float | None) -> None:
    TASKS.labels(name, state).inc()
    if seconds is not None:
        TASK_SECONDS.labels(name).observe(seconds)


def escalations_raised(items) -> None:
    """``items``: (target, level percent) of each escalation a sweep raised (after its commit)."""
    for target, percent in items:
        ESCALATIONS.labels(target, "yes" if percent >= 100 else "no").inc()


# --- read at each scrape ---


def _queue_length() -> int | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    from .health import _broker_client

    return int(_broker_client(url).llen(settings.CELERY_TASK_DEFAULT_QUEUE))


class CurrentState:
    """What the servers say now: the reports of /readyz, beat's heartbeat, the queue's length."""

    def describe(self):
        return []

    def collect(self):
        from .health import report_values
        from .periodic import beat_age_seconds

        for report, values in report_values().items():
            for key, value in values.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                gauge = GaugeMetricFamily(f"fieldservice_{report}_{key}", f"/readyz's {report}: {key}.")
                gauge.add_metric([], value)
                yield gauge
        try:
            age = beat_age_seconds()
        except Exception:  # the database is down: /readyz says so
            age = None
        if age is not None:
            yield GaugeMetricFamily("fieldservice_beat_last_run_age_seconds",
                                    "Seconds since a periodic task last started.", value=age)
        try:
            length = _queue_length()
        except Exception:
            length = None
        if length is not None:
            gauge = GaugeMetricFamily("fieldservice_celery_queue_length", "Tasks waiting in the broker.", labels=["queue"])
            gauge.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], length)
            yield gauge


def registry() -> CollectorRegistry:
    """This process's metrics, or every process's with PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return REGISTRY


def exposition(*, with_current: bool) -> bytes:
    text = generate_latest(registry())
    if with_current:
        current = CollectorRegistry(auto_describe=False)
        current.register(CurrentState())
        text += generate_latest(current)
    return text


def scrape_allowed(request) -> bool:
    """A request with the bearer token METRICS_TOKEN, or from an address in METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        import hmac

        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
            return True
    from .network import client_ip

    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS: %r is not an address or a network", allowed)
    return False


def start_worker_server(port: int) -> None:
    """The worker's own /metrics on ``port`` (its tasks' counts), from its main process."""
    from prometheus_client import start_http_server

    start_http_server(port, registry=registry())
    logger.info("metrics on port %s", port)


__all__ = ["CONTENT_TYPE_LATEST", "exposition", "scrape_allowed"]
