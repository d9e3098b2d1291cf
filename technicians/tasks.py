"""Celery tasks of the technicians app: a few lines each, calling a service; running one twice does no harm."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def home_geocode_sweep() -> dict:
    """After an import or an edit, and from beat: locate the home bases still pending."""
    return services.technicians_geocode_pending()
