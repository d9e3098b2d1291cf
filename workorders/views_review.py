"""Managers' review of completion reports: a queue and one report with approve / send back."""

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import roles as R
from core.errors import ApplicationError

from .models_completion import CompletionReport
from .selectors_completion import completion_report_detail, completion_review_queue
from .services_completion import APPROVE, SEND_BACK, completion_review


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[(APPROVE, gettext_lazy("Approve")), (SEND_BACK, gettext_lazy("Send back"))])
    comment = forms.CharField(label=gettext_lazy("Comment"), widget=forms.Textarea, required=False, max_length=2000)


def manager_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not R.has_role(request.user, R.MANAGER):
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
    return render(request, "workorders/reviews/list.html", context)


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
        "signature_url": _attachment_url(report.signature_id),
    }
    return render(request, "workorders/reviews/detail.html", context, status=400 if form.errors else 200)
