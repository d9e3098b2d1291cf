from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin import PhoneFieldsAdmin
from core.errors import ApplicationError

from .models import Attachment, WorkOrder, WorkOrderEvent
from .services import workorder_transition


class EventInline(admin.TabularInline):
    """The audit log, shown and never edited."""

    model = WorkOrderEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_status", "to_status", "actor", "actor_role", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "file", "content_type", "size", "width", "height", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


def _bulk_transition(action, label):
    def run(modeladmin, request, queryset):
        done, failed = 0, []
        for pk in queryset.values_list("pk", flat=True):
            try:
                workorder_transition(work_order_id=pk, action=action, actor=request.user, note=str(label))
                done += 1
            except ApplicationError as exc:
                failed.append(str(exc.message))
        if done:
            modeladmin.message_user(request, _("%(n)d work orders changed.") % {"n": done}, messages.SUCCESS)
        for text in failed[:10]:
            modeladmin.message_user(request, text, messages.WARNING)

    run.short_description = label
    run.__name__ = f"action_{action}"
    return run


@admin.register(WorkOrder)
class WorkOrderAdmin(PhoneFieldsAdmin, admin.ModelAdmin):
    """Work orders are changed through the lifecycle service, never by editing status."""

    phone_fields = ("contact_phone",)

    list_display = ["number", "status", "priority", "service_type", "customer", "technician", "created_at"]
    list_filter = ["status", "priority", "service_type", "channel"]
    search_fields = ["=id", "=contact_phone", "=customer__phone", "=external_ref"]
    list_select_related = ["service_type", "customer", "technician__user"]
    show_full_result_count = False
    readonly_fields = [
        "status", "customer", "technician", "appointment_start", "appointment_end", "created_at", "updated_at",
        "assigned_at", "accepted_at", "arrived_at", "resolved_at", "closed_at", "created_by", "channel",
    ]
    raw_id_fields = ["site", "equipment"]
    inlines = [AttachmentInline, EventInline]
    actions = [_bulk_transition("cancel", _("Cancel (reason: cancelled in admin)"))]

    def has_add_permission(self, request):
        # Work orders are created through intake (form, phone intake page, API).
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Escalations and surveys (issue 5); calendars and SLA policies are sla/admin.py -------

from .models import Escalation, Survey  # noqa: E402

# The SLA clock is kept by the service layer; admin shows it and never edits it.
WorkOrderAdmin.readonly_fields = [
    *WorkOrderAdmin.readonly_fields,
    "sla_policy", "sla_started_at", "first_response_due", "first_response_met_at", "arrival_due", "arrival_met_at",
    "resolution_due", "resolution_met_at", "sla_paused_at", "sla_pause_reason", "sla_paused_seconds",
]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["work_order", "target", "percent", "level", "due_at", "fired_at", "acknowledged_at"]
    list_filter = ["target", "percent", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["work_order", "level"]
    raw_id_fields = ["work_order"]
    readonly_fields = ["work_order", "cycle", "target", "level", "percent", "due_at", "fired_at",
                       "acknowledged_at", "acknowledged_by"]

    def has_add_permission(self, request):
        return False


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["work_order", "status", "created_at", "expires_at", "satisfaction", "solved", "recommend",
                    "needs_callback", "callback_at"]
    list_filter = ["status", "needs_callback", "satisfaction", "solved"]
    raw_id_fields = ["work_order"]
    readonly_fields = [
        "work_order", "language", "status", "created_at", "expires_at", "reminder_sent_at", "answered_at",
        "satisfaction", "solved", "recommend", "comment", "needs_callback", "callback_at", "callback_by",
        "callback_note", "callback_outcome",
    ]

    def has_add_permission(self, request):
        return False
