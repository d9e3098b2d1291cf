"""Celery tasks: a few lines each, calling a service; running one twice does no harm.

Beat runs the sweeps (config/settings.py CELERY_BEAT_SCHEDULE). No task waits with
a long countdown or ETA: deadlines live in the database and the sweeps find them.
"""

from celery import shared_task

from sla.services import calendar_gaps_warn

from . import sla, survey


@shared_task(ignore_result=True)
def sla_escalation_sweep() -> int:
    """Fire due escalation levels, each once, in order (and warn, once a day, of a business
    calendar in use that has no holidays for the coming days)."""
    calendar_gaps_warn()
    return sla.escalation_sweep()


@shared_task(ignore_result=True)
def survey_sweep() -> dict:
    """One reminder after 48 hours without an answer; close orders whose survey expired."""
    return {"reminded": survey.survey_send_reminders(), "closed": survey.survey_expire_due()}
