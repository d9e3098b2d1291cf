"""System checks of this app's settings (``manage.py check``, and at every start)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import hooks
from .lifecycle import TRANSITIONS, technician_check

# A send is a connection, a request and an answer, each of which may take up to the timeout.
SEND_TIMEOUTS = 3


@checks.register(checks.Tags.compatibility)
def outbox_lease_outlasts_a_send(app_configs=None, **kwargs):
    """The outbox's claim on a message must outlast the longest send: if it lapses while a
    worker is still sending, the sweep sends the message a second time."""
    timeouts = [settings.NOTIFY_HTTP_TIMEOUT, settings.WEBHOOK_TIMEOUT, getattr(settings, "EMAIL_TIMEOUT", None)]
    longest = SEND_TIMEOUTS * max(t for t in timeouts if t is not None)
    if settings.OUTBOX_LEASE_SECONDS < longest:
        return [checks.Error(
            f"OUTBOX_LEASE_SECONDS ({settings.OUTBOX_LEASE_SECONDS}) is shorter than a send may take "
            f"({SEND_TIMEOUTS} x the longest of NOTIFY_HTTP_TIMEOUT, WEBHOOK_TIMEOUT and EMAIL_TIMEOUT = {longest} s): "
            "a message still being sent would be sent again.",
            hint="Raise OUTBOX_LEASE_SECONDS or lower the timeouts.",
            id="workorders.E001",
        )]
    return []


@checks.register()
def technician_checks_registered(app_configs=None, **kwargs):
    """Every transition that gives the order to a technician has the check that may refuse it
    (dispatch registers them from its AppConfig.ready()); without one, that transition fails."""
    errors = []
    for transition in TRANSITIONS.values():
        if not transition.needs_technician:
            continue
        try:
            technician_check(transition.action)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="workorders.E002"))
    return errors


@checks.register()
def lifecycle_hooks_registered(app_configs=None, **kwargs):
    """Every check, effect and after hook the lifecycle table names is registered
    (``workorders/hooks.py``); a transition naming one that is not refuses to run."""
    return [checks.Error(message, id="workorders.E003") for message in hooks.missing(TRANSITIONS.values())]
