from django.apps import AppConfig
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class CompletionConfig(AppConfig):
    name = "completion"
    verbose_name = capfirst(_("completion reports"))

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from workorders.selectors import register_customer_page_part

        from .selectors import workorder_customer_page_part

        # The customer's tracking page: the description in the customer's words, the visit this
        # one follows, and the service report once the job is completed.
        register_customer_page_part(workorder_customer_page_part)
