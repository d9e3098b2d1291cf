import os

from celery import Celery
from celery.signals import before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fieldservice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _stamp_periodic(**kwargs):
    from core.periodic import stamp_sent_at

    stamp_sent_at(**kwargs)


# Each periodic message carries the moment beat sent it: its tick (core/periodic.py).
before_task_publish.connect(_stamp_periodic, weak=False, dispatch_uid="core.periodic.stamp_sent_at")
