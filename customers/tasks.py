"""Celery tasks of the customers app: a few lines each, calling a service; running one twice does no harm."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def locate_sites(site_ids: list[int]) -> dict:
    """Geocode these sites if they are still pending (handed over after their commit)."""
    return services.sites_locate(site_ids=site_ids)


@shared_task(ignore_result=True)
def geocode_sweep() -> dict:
    """Beat: locate the sites still pending (the task after commit missed them: broker down, worker lost)."""
    return services.sites_geocode_pending()
