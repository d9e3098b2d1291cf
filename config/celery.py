import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fieldservice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _on_publish(**kwargs):
    from core.observability import task_publish
    from core.periodic import stamp_sent_at

    # Each periodic message carries the moment beat sent it: its tick (core/periodic.py); every
    # message the id of the request that enqueued it (core/observability.py).
    stamp_sent_at(**kwargs)
    task_publish(**kwargs)


def _on_prerun(**kwargs):
    from core.observability import task_prerun as prerun

    prerun(**kwargs)


def _on_postrun(**kwargs):
    from core.observability import task_postrun as postrun

    postrun(**kwargs)


def _on_worker_ready(**kwargs):
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from core.metrics import start_worker_server

        start_worker_server(settings.WORKER_METRICS_PORT)


def _django_logging(**kwargs):
    """With LOG_FORMAT=json the worker and beat keep Django's LOGGING (JSON lines with the request id)."""


before_task_publish.connect(_on_publish, weak=False, dispatch_uid="config.celery.publish")
task_prerun.connect(_on_prerun, weak=False, dispatch_uid="config.celery.prerun")
task_postrun.connect(_on_postrun, weak=False, dispatch_uid="config.celery.postrun")
worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid="config.celery.worker_ready")
if os.environ.get("LOG_FORMAT") == "json":
    setup_logging.connect(_django_logging, weak=False, dispatch_uid="config.celery.logging")
