"""The service report PDF: for staff who may see the work order, and for the customer by the tracking link."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from .report_pdf import service_report_pdf
from .selectors_completion import (
    completion_report_for_token,
    completion_report_for_user,
    workorder_customer_description,
)


def _pdf_response(report, *, download: bool, **options) -> HttpResponse:
    response = HttpResponse(service_report_pdf(report, **options), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="service-report-{report.work_order.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def staff_report_pdf(request, pk):
    """The report of work order ``pk``, for anyone who may see that work order (404 otherwise)."""
    report = completion_report_for_user(user=request.user, work_order_id=pk)
    if report is None:
        raise Http404(_("No service report for this work order."))
    return _pdf_response(report, download=bool(request.GET.get("download")))


def track_report_pdf(request, token):
    """The report for the customer, through the private tracking link, in the customer's language."""
    report = completion_report_for_token(token=token)
    if report is None:
        raise Http404(_("No service report for this work order."))
    # The customer's copy: no notes for the office, the problem in the customer's own words.
    problem, _follows = workorder_customer_description(work_order=report.work_order)
    with translation.override(report.work_order.language or None):
        return _pdf_response(report, download=bool(request.GET.get("download")), for_customer=True, problem=problem)
