"""Completion reports in Django admin: written by technicians, reviewed on /staff/reviews/, read here."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ChecklistAnswer, CompletionReport, InvoiceBatch, PartUsage, ReportPhoto


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ChecklistAnswerInline(_ReadOnlyInline):
    model = ChecklistAnswer
    fields = ["item_text", "mandatory", "answer", "note"]
    readonly_fields = fields


class PartUsageInline(_ReadOnlyInline):
    model = PartUsage
    fields = ["part_number", "name", "quantity", "unit", "unit_price", "amount"]
    readonly_fields = fields


class ReportPhotoInline(_ReadOnlyInline):
    model = ReportPhoto
    fields = ["attachment", "latitude", "longitude", "taken_at"]
    readonly_fields = fields


@admin.register(CompletionReport)
class CompletionReportAdmin(admin.ModelAdmin):
    """Reports are written by technicians and reviewed on /staff/reviews/; here they are read."""

    list_display = ["work_order", "technician", "signer_name", "total_amount", "review_status", "created_at"]
    list_filter = ["review_status", "needs_second_visit", "work_order__service_type"]
    search_fields = ["=work_order__id", "signer_name", "technician__user__username"]
    list_select_related = ["work_order", "technician__user"]
    readonly_fields = [
        "work_order", "technician", "submitted_by", "submission_key", "work_done", "labour_minutes", "labour_rate",
        "callout_fee", "labour_amount", "parts_amount", "total_amount", "signer_name", "signature", "signed_at",
        "latitude", "longitude", "needs_second_visit", "second_visit_reason", "follow_up_work_order",
        "review_status", "review_comment", "reviewed_by", "reviewed_at", "revision_note", "revised_at", "created_at",
    ]
    inlines = [ChecklistAnswerInline, PartUsageInline, ReportPhotoInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceBatch)
class InvoiceBatchAdmin(ReadOnlyAdmin):
    """Batches handed over for invoicing (completion/invoicing.py); managers work on /staff/invoicing/."""

    list_display = ("__str__", "created_at", "created_by", "count", "total", "released_at")
    date_hierarchy = "created_at"
    exclude = ("lines",)
