"""Request ids in the logs and the request metrics, for the web processes and the Celery workers.

Every request gets an id: the proxy's ``X-Request-ID`` when it sends a sensible one, else a new
one. It is answered in the response's ``X-Request-ID``, added to every log record made while the
request runs (``RequestIdFilter``; JSON lines with ``LOG_FORMAT=json``), and sent along with each
Celery task the request enqueues (a message header), so that the task's log lines carry the id
of the request that caused them.

``ObservabilityMiddleware`` also times each request into the Prometheus histogram of its view
(``core/metrics.py``). It is the first middleware; ``/healthz``, the liveness check polled every
few seconds, passes through it untouched.
"""

import contextvars
import logging
import os
import time

from .periodic import message_header

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
HEADER = "request_id"  # the Celery message header that carries it
_SKIP = frozenset({"/healthz"})


class ObservabilityMiddleware:
    def __init__(self, get_response):
        from .metrics import observe_request

        self.get_response = get_response
        self.observe = observe_request

    def __call__(self, request):
        if request.path_info in _SKIP:
            return self.get_response(request)
        started = time.perf_counter()
        # The proxy's id when it is short and plain (letters, digits, dashes), else a fresh one.
        request_id = request.META.get("HTTP_X_REQUEST_ID")
        if not (request_id and len(request_id) <= 64 and request_id.isascii()
                and request_id.replace("-", "").isalnum()):
            request_id = os.urandom(8).hex()
        token = REQUEST_ID.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            REQUEST_ID.reset(token)
        response.headers["X-Request-ID"] = request_id
        self.observe(request, response.status_code, time.perf_counter() - started)
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or ``-``) to every record, for the formatters to show."""

    def filter(self, record):
        record.request_id = REQUEST_ID.get() or "-"
        return True


# --- Celery: the id travels with the task; each task's count and duration (config/celery.py) ---

_task_started: dict[str, tuple[float, contextvars.Token]] = {}


def task_publish(sender=None, headers=None, **kwargs):
    """``before_task_publish``: the current request's id goes into the message's headers."""
    request_id = REQUEST_ID.get()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


def task_prerun(task_id=None, task=None, **kwargs):
    """The task's log lines carry the id of the request that enqueued it (or one of their own)."""
    request_id = message_header(task, HEADER) or REQUEST_ID.get() or f"task-{task_id}"
    _task_started[task_id] = (time.perf_counter(), REQUEST_ID.set(request_id))


def task_postrun(task_id=None, task=None, state=None, **kwargs):
    from .metrics import observe_task

    started, token = _task_started.pop(task_id, (None, None))
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context
            REQUEST_ID.set(None)
    if task is not None:
        observe_task(task.name, state or "UNKNOWN", None if started is None else time.perf_counter() - started)
