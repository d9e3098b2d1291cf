from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("SLA")

    def ready(self):
        # Connected here, not when sla.selectors is imported: a process that never reads the
        # policies (a worker saving a calendar) still drops the other processes' copies.
        # Any change to what the cached SLA data is made of drops it in every process.
        from core.refcache import receiver_for

        from .models import BusinessCalendar, CalendarDay, EscalationLevel, EscalationMatrix, SlaPolicy, WorkingHours
        from .selectors import REFDATA

        bump = receiver_for(REFDATA)
        for model in (SlaPolicy, BusinessCalendar, WorkingHours, CalendarDay, EscalationMatrix, EscalationLevel):
            post_save.connect(bump, sender=model, weak=False, dispatch_uid=f"sla-refdata-save-{model.__name__}")
            post_delete.connect(bump, sender=model, weak=False, dispatch_uid=f"sla-refdata-delete-{model.__name__}")
