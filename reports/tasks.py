from celery import shared_task

from .facts import facts_sweep


@shared_task(name="reports.tasks.reports_facts_sweep")
def reports_facts_sweep() -> int:
    """Refresh the report figures of every order with new events (idempotent)."""
    return facts_sweep()
