from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import InboundEmail


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every email the intake took in (email_intake/services.py) and what became of it: to read."""

    list_display = ("received_at", "sender", "subject", "outcome", "work_order", "photos", "source")
    list_filter = ("outcome", "source")
    search_fields = ("sender", "subject", "message_id")
    date_hierarchy = "received_at"
    list_select_related = ("work_order",)
    raw_id_fields = ("work_order", "handled_by")
