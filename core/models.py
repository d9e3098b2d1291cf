"""Models of core: the last tick of each periodic task (core/periodic.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicRun(models.Model):
    """One periodic task's last claimed tick: a tick runs once, however many beats sent it."""

    name = models.CharField(_("task"), max_length=100, primary_key=True)
    # The tick number: seconds since the epoch divided by the task's interval, rounded down.
    tick = models.BigIntegerField(_("tick"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    runs = models.PositiveBigIntegerField(_("runs"), default=0)
    # Messages for a tick that had already run (a second beat, a redelivery), not run again.
    duplicates = models.PositiveBigIntegerField(_("duplicates refused"), default=0)

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")
        ordering = ["name"]

    def __str__(self):
        return self.name
