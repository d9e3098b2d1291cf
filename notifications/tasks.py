"""Celery tasks of the outbox: a few lines each, calling a service; running one twice does no harm.

They keep the names they had in ``workorders.tasks``, so that tasks already queued and
the beat schedule (config/settings.py CELERY_BEAT_SCHEDULE) still find them.
"""

from celery import shared_task

from . import services


@shared_task(name="workorders.tasks.deliver_notifications", ignore_result=True)
def deliver_notifications(notification_ids: list[int]) -> None:
    """Send outbox rows just committed (each is claimed first, so a repeat sends nothing)."""
    for notification_id in notification_ids:
        services.notification_deliver(notification_id=notification_id)


@shared_task(name="workorders.tasks.notifications_sweep", ignore_result=True)
def notifications_sweep() -> dict:
    """Retry the messages still pending (broker or provider outage), with backoff."""
    return services.notifications_sweep(endpoint=False)


@shared_task(name="notifications.tasks.webhooks_sweep", ignore_result=True)
def webhooks_sweep() -> dict:
    """Retry the webhook deliveries still pending (a receiver down), with backoff: apart from the
    messages, so that a receiver that does not answer holds no SMS or email."""
    return services.notifications_sweep(endpoint=True)
