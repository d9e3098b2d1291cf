"""The managers' invoicing page: what waits, hand it over as a batch, download or release a batch."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from core.exports import FORMATS, export_response

from .invoicing import batch_rows, invoice_batch_create, invoice_batch_release, invoicing_pending_summary
from .models import InvoiceBatch
from .views import manager_required


@manager_required
def invoicing(request):
    return render(request, "completion/invoicing.html", {
        "pending": invoicing_pending_summary(),
        "batches": InvoiceBatch.objects.select_related("created_by", "released_by").defer("lines")[:50],
    })


@manager_required
@require_POST
def batch_create(request):
    batch = invoice_batch_create(actor=request.user)
    if batch is None:
        messages.info(request, _("Nothing waits to be invoiced."))
        return redirect("completion:invoicing")
    messages.success(request, _("%(batch)s: %(count)d reports handed over.") % {"batch": batch, "count": batch.count})
    return redirect("completion:invoice-batch", pk=batch.pk)


@manager_required
def batch_detail(request, pk: int):
    batch = get_object_or_404(InvoiceBatch.objects.select_related("created_by", "released_by"), pk=pk)
    return render(request, "completion/invoice_batch.html", {"batch": batch, "formats": FORMATS})


@manager_required
def batch_download(request, pk: int, fmt: str):
    batch = get_object_or_404(InvoiceBatch, pk=pk)
    if fmt not in FORMATS:
        return redirect("completion:invoice-batch", pk=pk)
    head, rows = batch_rows(batch)
    return export_response(fmt, filename=f"{batch}.{fmt}", title=str(batch), head=head, rows=rows)


@manager_required
@require_POST
def batch_release(request, pk: int):
    try:
        batch = invoice_batch_release(batch_id=pk, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("completion:invoice-batch", pk=pk)
    messages.success(request, _("%(batch)s released: its reports go into the next batch.") % {"batch": batch})
    return redirect("completion:invoicing")
