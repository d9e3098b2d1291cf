"""Completion reports' pages: the managers' review (a queue and one report with approve / send
back), and the service report PDF for staff who may see the work order and for the customer by
the tracking link."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ApplicationError
from core.permissions import may

from .models import CompletionReport
from .report_pdf import service_report_pdf
from .selectors import (
    completion_report_detail,
    completion_report_for_token,
    completion_report_for_user,
    completion_review_queue,
    workorder_customer_description,
)
from .services import APPROVE, SEND_BACK, completion_review


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[(APPROVE, gettext_lazy("Approve")), (SEND_BACK, gettext_lazy("Send back"))])
    comment = forms.CharField(label=gettext_lazy("Comment"), widget=forms.Textarea, required=False, max_length=2000)


def manager_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not may(request.user, "completion.review"):
            return render(request, "core/no_role.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _attachment_url(pk: int) -> str:
    try:
        return reverse("intake:attachment", args=[pk])
    except NoReverseMatch:
        return f"/attachments/{pk}/"


@manager_required
def review_list(request):
    status = request.GET.get("status") or CompletionReport.Review.PENDING
    if status not in CompletionReport.Review.values:
        status = CompletionReport.Review.PENDING
    context = {
        "reports": completion_review_queue(review_status=status),
        "status": status,
        "statuses": CompletionReport.Review.choices,
    }
    return render(request, "completion/reviews/list.html", context)


@manager_required
def review_detail(request, pk):
    report = completion_report_detail(pk=pk)
    if report is None:
        raise Http404(_("No such completion report."))
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            completion_review(report_id=report.pk, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("completion:review", pk=pk)
        if form.cleaned_data["decision"] == APPROVE:
            messages.success(request, _("%(number)s: report approved.") % {"number": report.work_order.number})
        else:
            messages.success(request, _("%(number)s: report sent back to the technician.")
                             % {"number": report.work_order.number})
        return redirect("completion:reviews")
    context = {
        "report": report,
        "wo": report.work_order,
        "form": form,
        "photos": [(p, _attachment_url(p.attachment_id)) for p in report.photos.all()],
        "signature_url": _attachment_url(report.signature_id) if report.signature_id else "",
    }
    return render(request, "completion/reviews/detail.html", context, status=400 if form.errors else 200)


# --- The service report PDF ---------------------------------------------------------------


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
