from celery import shared_task

from .services import plans_sweep


@shared_task(name="maintenance.tasks.maintenance_plan_sweep")
def maintenance_plan_sweep() -> int:
    """Create the planned visits and their work orders within the horizon (idempotent)."""
    return plans_sweep()
