from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError

from .models import Attachment, ServiceType, ServiceTypeSkill, WorkOrder, WorkOrderEvent
from .services import workorder_transition


class ServiceTypeSkillInline(admin.TabularInline):
    model = ServiceTypeSkill
    extra = 1


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "default_duration_minutes", "callout_fee", "requires_review", "active"]
    list_filter = ["active", "requires_review"]
    search_fields = ["name", "code"]
    inlines = [ServiceTypeSkillInline]


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
class WorkOrderAdmin(admin.ModelAdmin):
    """Work orders are changed through the lifecycle service, never by editing status."""

    list_display = ["number", "status", "priority", "service_type", "customer", "technician", "created_at"]
    list_filter = ["status", "priority", "service_type", "channel"]
    search_fields = ["=id", "=contact_phone", "=customer__phone"]
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
