"""Completed work handed over for invoicing, once.

A completion report waits for invoicing when its work order is closed and its work is reviewed:
approved by a manager, or of a service type that needs no review (and not sent back). A manager
(on ``/staff/invoicing/``) or an integration (``POST /api/v1/invoicing/batches/``) takes everything
waiting into a batch: the reports are marked with it in the same transaction, and the batch keeps
the lines as handed over (labour, parts, charges, the customer's and the order's references), so
a download later reads the same even if a report is corrected. Two exports at the same moment
take different reports (``SKIP LOCKED``); none is handed over twice. A batch the accounting
system refused is released: its reports wait again, and the batch stays on record as released.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, NotFound
from workorders.lifecycle import Status

from .models import CompletionReport, InvoiceBatch, PartUsage

# The columns of the CSV/XLSX download, in order: (key in a line, heading).
COLUMNS = [
    ("batch", gettext_lazy("Batch")),
    ("work_order", gettext_lazy("Work order")),
    ("work_order_ref", gettext_lazy("Order reference")),
    ("customer_code", gettext_lazy("Customer code")),
    ("customer", gettext_lazy("Customer")),
    ("address", gettext_lazy("Address")),
    ("service_type", gettext_lazy("Service type")),
    ("technician", gettext_lazy("Technician")),
    ("completed_at", gettext_lazy("Completed")),
    ("labour_minutes", gettext_lazy("Labour (minutes)")),
    ("labour_amount", gettext_lazy("Labour")),
    ("callout_fee", gettext_lazy("Call-out fee")),
    ("parts_amount", gettext_lazy("Parts")),
    ("covered_amount", gettext_lazy("Covered")),
    ("coverage_reason", gettext_lazy("Covered by")),
    ("total_amount", gettext_lazy("Total")),
    ("parts_text", gettext_lazy("Parts used")),
]


def invoicing_pending():
    """The reports waiting to be handed over (see the module's docstring)."""
    return CompletionReport.objects.filter(
        Q(review_status=CompletionReport.Review.APPROVED)
        | Q(review_status=CompletionReport.Review.PENDING, work_order__service_type__requires_review=False),
        invoice_batch__isnull=True, work_order__status=Status.CLOSED,
    ).exclude(  # not reviewed yet, and its service type's flow asks to approve the parts it records
        review_status=CompletionReport.Review.PENDING, work_order__service_type__requires_parts_approval=True,
        parts__isnull=False,
    )


def invoicing_pending_summary() -> dict:
    figures = invoicing_pending().aggregate(total=Sum("total_amount"))
    return {"count": invoicing_pending().count(), "total": figures["total"] or Decimal("0.00")}


def _money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _lines(report_ids: list[int], *, batch_label: str) -> list[dict]:
    reports = (
        CompletionReport.objects.filter(pk__in=report_ids)
        .select_related("work_order__customer", "work_order__service_type", "technician__user")
        .prefetch_related(Prefetch("parts", queryset=PartUsage.objects.order_by("id")))
        .order_by("id")
    )
    lines = []
    for report in reports:
        order = report.work_order
        parts = [
            {"part_number": p.part_number, "name": p.name, "unit": p.unit, "quantity": str(p.quantity.normalize()),
             "unit_price": _money(p.unit_price), "amount": _money(p.amount)}
            for p in report.parts.all()
        ]
        lines.append({
            "batch": batch_label,
            "report": report.pk,
            "work_order": order.number,
            "work_order_ref": order.external_ref or "",
            "customer_code": order.customer.code or "" if order.customer_id else "",
            "customer": order.customer.name if order.customer_id else order.contact_name,
            "address": order.address,
            "service_type": order.service_type.code,
            "technician": report.technician.user.get_full_name() or report.technician.user.username,
            "completed_at": timezone.localtime(report.signed_at).isoformat(timespec="minutes"),
            "labour_minutes": report.labour_minutes,
            "labour_rate": _money(report.labour_rate),
            "labour_amount": _money(report.labour_amount),
            "callout_fee": _money(report.callout_fee),
            "parts_amount": _money(report.parts_amount),
            "covered_amount": _money(report.covered_amount),
            "coverage_reason": report.coverage_reason,
            "total_amount": _money(report.total_amount),
            "parts": parts,
            "parts_text": "; ".join(f"{p['part_number']} {p['name']} × {p['quantity']} {p['unit']}" for p in parts),
        })
    return lines


def invoice_batch_create(*, actor, limit: int | None = None) -> InvoiceBatch | None:
    """Hand over what waits (at most ``limit``, ``INVOICING_BATCH_MAX`` by default, oldest first)
    as one batch; None when nothing waits."""
    limit = limit or settings.INVOICING_BATCH_MAX
    with transaction.atomic():
        ids = list(
            invoicing_pending().select_for_update(of=("self",), skip_locked=True)
            .order_by("id").values_list("id", flat=True)[:limit]
        )
        if not ids:
            return None
        total = CompletionReport.objects.filter(pk__in=ids).aggregate(total=Sum("total_amount"))["total"]
        batch = InvoiceBatch.objects.create(created_by=actor, count=len(ids), total=total)
        batch.lines = _lines(ids, batch_label=str(batch))
        batch.save(update_fields=["lines"])
        CompletionReport.objects.filter(pk__in=ids).update(invoice_batch=batch)
    return batch


def invoice_batch_release(*, batch_id: int, actor) -> InvoiceBatch:
    """The accounting system refused the batch: its reports wait again (the batch stays, released)."""
    with transaction.atomic():
        batch = InvoiceBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise NotFound(_("No such invoicing batch."))
        if batch.released_at is not None:
            raise Conflict(_("%(batch)s was already released.") % {"batch": batch})
        CompletionReport.objects.filter(invoice_batch=batch).update(invoice_batch=None)
        batch.released_at, batch.released_by = timezone.now(), actor
        batch.save(update_fields=["released_at", "released_by"])
    return batch


def batch_rows(batch: InvoiceBatch) -> tuple[list[str], list[list]]:
    """The batch as a table for core.exports: headings and one row per report."""
    head = [str(label) for _key, label in COLUMNS]
    return head, [[line[key] for key, _label in COLUMNS] for line in batch.lines]
