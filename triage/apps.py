from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "triage"
    verbose_name = _("Triage suggestions")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from workorders.selectors import register_new_order_part

        from .views import detail_part

        # The new order's staff page shows the suggestion (workorders never imports triage).
        register_new_order_part(detail_part)
