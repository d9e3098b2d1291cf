"""/staff/escalations/: open SLA escalations and low survey answers waiting for a call-back.

Dispatchers and managers see the list and acknowledge escalations; managers record
call-backs, which close or reopen the order through the lifecycle service.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import roles as R
from core.errors import ApplicationError, Forbidden
from core.views import app_error_response

from .sla import escalation_acknowledge, escalations_open, target_states_many
from .survey import survey_record_callback, surveys_awaiting_callback


def _allowed(user) -> bool:
    return R.has_role(user, R.MANAGER, R.DISPATCHER)


@login_required
@require_GET
def escalation_list(request):
    if not _allowed(request.user):
        return app_error_response(request, Forbidden(_("Only dispatchers and managers see escalations.")))
    escalations = list(escalations_open())
    states = target_states_many({e.work_order_id: e.work_order for e in escalations}.values())
    rows = [{"escalation": e, "work_order": e.work_order, "states": states.get(e.work_order_id, [])}
            for e in escalations]
    return render(request, "workorders/escalations/list.html", {
        "rows": rows,
        "callbacks": list(surveys_awaiting_callback()[:200]),
        "can_call_back": R.has_role(request.user, R.MANAGER),
    })


@login_required
@require_POST
def escalation_acknowledge_page(request, pk):
    try:
        esc = escalation_acknowledge(escalation_id=pk, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Escalation of %(number)s acknowledged.") % {"number": esc.work_order.number})
    return redirect("escalations:list")


@login_required
@require_POST
def survey_callback_page(request, pk):
    try:
        survey = survey_record_callback(survey_id=pk, actor=request.user, note=request.POST.get("note", ""),
                                        outcome=request.POST.get("outcome", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Call-back recorded for %(number)s.") % {"number": survey.work_order.number})
    return redirect("escalations:list")
