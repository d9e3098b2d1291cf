from celery import shared_task

from .services import triage_train


@shared_task(name="triage.tasks.triage_retrain")
def triage_retrain() -> int:
    """Learn a new triage model version from the closed orders (beat: TRIAGE_RETRAIN_SECONDS)."""
    return triage_train().version
