from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TechniciansConfig(AppConfig):
    name = "technicians"
    verbose_name = _("Technicians")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
