"""/staff/escalations/: open SLA escalations and low survey answers waiting for a call-back.

Dispatchers and managers see the list and acknowledge escalations; managers record
call-backs, which close or reopen the order through the lifecycle service.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, Forbidden, InvalidInput
from core.permissions import may
from core.views import app_error_response
from technicians.models import PartnerCompany

from ..forms import EscalationFilterForm
from ..sla import (
    escalation_acknowledge,
    escalation_groups,
    escalation_level_percents,
    escalations_acknowledge_many,
    target_states_many,
)
from ..survey import survey_record_callback, surveys_awaiting_callback


def _allowed(user) -> bool:
    return may(user, "workorders.handle_escalations")


@login_required
@require_GET
def escalation_list(request):
    if not _allowed(request.user):
        return app_error_response(request, Forbidden(_("Only dispatchers and managers see escalations.")))
    form = EscalationFilterForm(request.GET or None, percents=escalation_level_percents(),
                                partners=PartnerCompany.objects.filter(active=True).order_by("name")
                                .values_list("pk", "name"))
    listing = escalation_groups(**form.filters())
    states = target_states_many([group.work_order for group in listing.groups])
    return render(request, "workorders/escalations/list.html", {
        "form": form,
        "listing": listing,
        "rows": [{"group": g, "states": states.get(g.work_order.pk, [])} for g in listing.groups],
        "callbacks": list(surveys_awaiting_callback()[:200]),
        "can_call_back": may(request.user, "workorders.record_callback"),
    })


@login_required
@require_POST
def escalations_acknowledge_page(request):
    """Acknowledge the open escalations of the ticked work orders (or of the one whose own button
    was pressed), up to the newest the page showed."""
    only = request.POST.get("only", "")
    values = [only] if only else request.POST.getlist("work_order")
    ids = [int(v) for v in values if re.fullmatch(r"[0-9]{1,18}", v)]
    upto = request.POST.get("upto", "")
    try:
        if not re.fullmatch(r"[0-9]{1,18}", upto):
            raise InvalidInput(_("The list changed; open it again."))
        count = escalations_acknowledge_many(work_order_ids=ids, upto_id=int(upto), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ngettext("%(n)d escalation acknowledged.", "%(n)d escalations acknowledged.",
                                           count) % {"n": count})
    # Back to the list with the filters it had (re-encoded: only a query string, never another address).
    back = QueryDict(request.POST.get("back", "")[:500]).urlencode()
    return redirect(reverse("escalations:list") + (f"?{back}" if back else ""))


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
