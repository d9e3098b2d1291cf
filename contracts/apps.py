from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Service contracts")

    def ready(self):
        # Any change to a contract drops every process's "does the company have contracts" flag
        # (contracts/selectors.py), so a new contract covers the next order within a second.
        from django.db.models.signals import post_delete, post_save

        from core.refcache import receiver_for

        from .models import Contract
        from .selectors import REFDATA

        bump = receiver_for(REFDATA)
        post_save.connect(bump, sender=Contract, weak=False, dispatch_uid="contracts-refdata-save")
        post_delete.connect(bump, sender=Contract, weak=False, dispatch_uid="contracts-refdata-delete")
