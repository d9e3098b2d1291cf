from celery import shared_task

from .facts import facts_sweep
from .selectors import dashboard_warm


@shared_task(name="reports.tasks.reports_facts_sweep")
def reports_facts_sweep() -> int:
    """Refresh the report figures of every order with new events (idempotent), then the dashboard's
    default page kept in the cache (``reports.selectors.dashboard_warm``)."""
    refreshed = facts_sweep()
    dashboard_warm()
    return refreshed
