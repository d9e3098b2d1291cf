from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self):
        from notifications.services import templates_register

        from . import checks  # noqa: F401 (registers them)
        from .messages import MESSAGES, message_context

        templates_register(MESSAGES, context=message_context)

        # Until completion is its own app (issue 13, S6b), its part of the customer's page is added here.
        from .selectors import register_customer_page_part
        from .selectors_completion import workorder_customer_page_part

        register_customer_page_part(workorder_customer_page_part)
