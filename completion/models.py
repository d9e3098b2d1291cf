"""Completion reports: what the technician did, what it cost, and the customer's signature.

These models moved here from ``workorders`` (issue 13, S6b) and keep its tables
(``db_table``), so the move changed no schema.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

class CompletionReport(models.Model):
    """The technician's report that resolves a work order (完工报告).

    Prices, names and checklist wording are copied in, so the report reads the
    same after the catalog or the checklist changes.
    """

    class Review(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")

    work_order = models.ForeignKey(
        "workorders.WorkOrder", on_delete=models.PROTECT, related_name="completion_reports",
        verbose_name=_("work order"),
    )
    technician = models.ForeignKey(
        "technicians.Technician", on_delete=models.PROTECT, related_name="completion_reports",
        verbose_name=_("technician"),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Set by the form when it is drawn: a double tap or a replayed request finds
    # the first report instead of making a second one.
    submission_key = models.UUIDField(unique=True, editable=False)

    work_done = models.TextField(_("work done"))
    labour_minutes = models.PositiveIntegerField(_("labour (minutes)"))
    labour_rate = models.DecimalField(_("labour rate per hour"), max_digits=10, decimal_places=2)
    callout_fee = models.DecimalField(_("call-out fee"), max_digits=10, decimal_places=2)
    labour_amount = models.DecimalField(_("labour"), max_digits=10, decimal_places=2)
    parts_amount = models.DecimalField(_("parts"), max_digits=12, decimal_places=2)
    # The share a contract or the warranty covers (the work order's coverage when it was created),
    # taken off the total, and the reason printed beside it ("Contract C-2026-014").
    covered_amount = models.DecimalField(_("covered"), max_digits=12, decimal_places=2, default=0, db_default=0)
    coverage_reason = models.CharField(_("covered by"), max_length=200, blank=True, default="", db_default="")
    total_amount = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    # What the job cost the company, frozen at submission like the charges (completion.services
    # job_costs): parts at cost, labour and the drive there at the technician's cost per hour.
    # Reports submitted before costs were recorded hold zeros.
    parts_cost = models.DecimalField(_("parts cost"), max_digits=12, decimal_places=2, default=0, db_default=0)
    labour_cost = models.DecimalField(_("labour cost"), max_digits=12, decimal_places=2, default=0, db_default=0)
    travel_minutes = models.PositiveIntegerField(_("travel (minutes)"), default=0, db_default=0)
    travel_cost = models.DecimalField(_("travel cost"), max_digits=12, decimal_places=2, default=0, db_default=0)

    signer_name = models.CharField(_("signed by"), max_length=120)
    # None where the service type's flow does not ask for a signature and none was given.
    signature = models.OneToOneField(
        "workorders.Attachment", on_delete=models.PROTECT, related_name="signed_report", verbose_name=_("signature"),
        null=True, blank=True,
    )
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    # "Needs a second visit": the new work order made for it (its own history
    # starts there; this one's stays as it is).
    needs_second_visit = models.BooleanField(_("needs a second visit"), default=False)
    second_visit_reason = models.CharField(_("why a second visit"), max_length=500, blank=True)
    follow_up_work_order = models.OneToOneField(
        "workorders.WorkOrder", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_up_of_report",
        verbose_name=_("second-visit work order"),
    )

    review_status = models.CharField(_("review"), max_length=12, choices=Review.choices, default=Review.PENDING)
    review_comment = models.TextField(_("review comment"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # The technician's answer to a report sent back.
    revision_note = models.TextField(_("technician's reply"), blank=True)
    revised_at = models.DateTimeField(_("revised at"), null=True, blank=True)

    # The service type's custom fields asked at completion (catalog.CustomField), by key; a photo
    # field holds the id of its attachment (also one of the report's photos).
    custom = models.JSONField(_("custom fields"), default=dict, db_default={}, blank=True)

    created_at = models.DateTimeField(_("submitted"), default=timezone.now)
    # Handed over for invoicing (completion/invoicing.py): in this batch; none while waiting.
    invoice_batch = models.ForeignKey(
        "completion.InvoiceBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="reports",
        verbose_name=_("invoicing batch"),
    )

    class Meta:
        db_table = "workorders_completionreport"
        verbose_name = _("completion report")
        verbose_name_plural = _("completion reports")
        ordering = ["-id"]
        indexes = [
            # The managers' review queue: reports in one review state, newest first.
            models.Index(fields=["review_status", "id"], name="report_review_id"),
            # Invoicing: the reports not yet handed over, oldest first.
            models.Index(fields=["id"], name="report_not_invoiced", condition=Q(invoice_batch__isnull=True)),
            # Reports by a custom field's value: WHERE custom @> '{"leak_found": true}'.
            GinIndex(fields=["custom"], name="report_custom", opclasses=["jsonb_path_ops"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(labour_minutes__lte=24 * 60), name="report_labour_within_a_day"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="report_total_not_negative"),
            models.CheckConstraint(condition=Q(review_status__in=["pending", "approved", "sent_back"]),
                                   name="report_review_known"),
        ]

    def __str__(self):
        return f"{self.work_order_id}: {self.signer_name}"


class ChecklistAnswer(models.Model):
    class Answer(models.TextChoices):
        DONE = "done", _("Done")
        PROBLEM = "problem", _("Problem found")
        NOT_APPLICABLE = "na", _("Not applicable")

    report = models.ForeignKey(CompletionReport, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey("catalog.ChecklistItem", on_delete=models.PROTECT, related_name="answers")
    item_text = models.CharField(_("item"), max_length=200)
    mandatory = models.BooleanField(_("mandatory"), default=False)
    answer = models.CharField(_("answer"), max_length=8, choices=Answer.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        db_table = "workorders_checklistanswer"
        verbose_name = _("checklist answer")
        verbose_name_plural = _("checklist answers")
        ordering = ["report", "id"]
        constraints = [models.UniqueConstraint(fields=["report", "item"], name="report_answer_once")]

    def __str__(self):
        return f"{self.item_text}: {self.answer}"


class PartUsage(models.Model):
    """One line of parts used."""

    report = models.ForeignKey(CompletionReport, on_delete=models.CASCADE, related_name="parts")
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="usages")
    part_number = models.CharField(_("part number"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=16)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    # The part's cost at the time of use (catalog.Part.unit_cost), as unit_price is its price.
    unit_cost = models.DecimalField(_("unit cost"), max_digits=10, decimal_places=2, default=0, db_default=0)

    class Meta:
        db_table = "workorders_partusage"
        verbose_name = _("part used")
        verbose_name_plural = _("parts used")
        ordering = ["report", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="part_usage_quantity_positive")]

    def __str__(self):
        return f"{self.part_number} × {self.quantity}"


class ReportPhoto(models.Model):
    """An on-site photo of a report, with where and when it was taken.

    The stored image is re-encoded without its EXIF block; the position and time
    it carried (or that the phone reported) are kept here as data.
    """

    report = models.ForeignKey(CompletionReport, on_delete=models.CASCADE, related_name="photos")
    attachment = models.OneToOneField("workorders.Attachment", on_delete=models.PROTECT, related_name="report_photo")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)

    class Meta:
        db_table = "workorders_reportphoto"
        verbose_name = _("report photo")
        verbose_name_plural = _("report photos")
        ordering = ["report", "id"]


class InvoiceBatch(models.Model):
    """Completed work handed over for invoicing at once (completion/invoicing.py): each report is in
    one batch at most, so it is invoiced once. Released (the accounting system refused the file),
    its reports wait again and go into the next batch."""

    created_at = models.DateTimeField(_("exported at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("exported by"),
    )
    count = models.PositiveIntegerField(_("reports"))
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    # The lines as handed over (completion/invoicing.py _lines): a download later reads the same.
    lines = models.JSONField(default=list, editable=False)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("released by"),
    )

    class Meta:
        verbose_name = _("invoicing batch")
        verbose_name_plural = _("invoicing batches")
        ordering = ["-id"]

    def __str__(self):
        return f"INV-{self.pk:06d}" if self.pk else "INV-new"
