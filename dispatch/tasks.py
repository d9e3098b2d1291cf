"""Periodic automatic assignment (on when DISPATCH_AUTO_ASSIGN_ENABLED is set)."""

from celery import shared_task

from .auto_assign import dispatch_auto_assign as run


@shared_task(name="dispatch.tasks.dispatch_auto_assign")
def dispatch_auto_assign() -> dict:
    """Assign the unassigned queue. Idempotent: a second run finds nothing new to assign."""
    result = run()
    return {
        "assigned": len(result.assigned),
        "unassigned": len(result.unassigned),
        "conflicts": len(result.conflicts),
        "optimal": result.optimal,
        "timings": result.timings,
    }
