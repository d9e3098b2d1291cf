"""The technicians' mobile pages: my jobs, the job page, status taps, the completion report.

Thin: parse the request, call a selector or a service, render. A work order the
user may not see is a 404, whether or not it exists.
"""

import json
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from catalog.models import Part
from catalog.custom_fields import custom_values_shown
from catalog.flows import flow_of
from catalog.forms import custom_errors_to_form
from catalog.models import CustomField
from catalog.selectors import checklist_for, custom_fields_for, custom_fields_of, part_active_list
from completion.models import ChecklistAnswer
from completion.services import completion_revise, completion_submit, labour_rate
from core import roles as R
from core.errors import ApplicationError, NotFound
from core.permissions import may
from core.choices import APPROXIMATE
from inventory.requests import (
    part_request_cancel,
    part_request_create,
    part_request_receive,
    part_requests_visible_to,
)
from knowledge.models import Audience
from knowledge.selectors import article_suggestions_for_work_order
from workorders.lifecycle import OPEN_STATES, TRANSITIONS, Status, available_actions, event_label
from workorders.services import workorder_arrive, workorder_transition

from . import selectors, services
from .forms import (
    FIELD_ACTIONS,
    CompletionForm,
    CustomAnswersForm,
    HoldReason,
    ReviseForm,
    StatusForm,
    checklist_answers,
    part_lines,
    photo_uploads,
)

PART_ROWS = 3


def field_role_required(view):
    """Logged in, as a technician or a partner technician (a superuser too)."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not may(request.user, "field.use_phone_pages"):
            return render(request, "core/no_role.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def attachment_url(pk: int) -> str:
    try:
        return reverse("intake:attachment", args=[pk])
    except NoReverseMatch:  # the intake pages are not mounted
        return f"/attachments/{pk}/"


NAVIGATION_APPS = (
    ("amap", gettext_lazy("AMap")),
    ("baidu", gettext_lazy("Baidu Maps")),
    ("apple", gettext_lazy("Apple Maps")),
    ("google", gettext_lazy("Google Maps")),
)


def _maps_links(work_order) -> dict:
    """Links that open the site in the phone's map apps, for driving there.

    ``geo``: the phone's default map app (Android). ``apps``: AMap, Baidu, Apple and Google,
    each by its public URL scheme (AMap's and Baidu's open their app when it is installed, a web
    map otherwise). A point the site has to the street, typed in or placed by hand is sent as
    coordinates (GCJ-02, what AMap, Baidu with ``coord_type=gcj02``, and Apple and Google in China
    use); a point that is only a district's or city's centre is not: the apps then search the
    address themselves, which gets nearer than the centre.
    """
    site = work_order.site
    address = work_order.address or (site.address if site else "")
    name = quote(address)
    exact = (
        site is not None and site.latitude is not None and site.longitude is not None
        and site.location_precision not in APPROXIMATE
    )
    if exact:
        lat, lng = site.latitude, site.longitude
        geo = f"geo:{lat},{lng}?q={lat},{lng}({name})"
        urls = {
            "amap": f"https://uri.amap.com/navigation?to={lng},{lat},{name}&mode=car&coordinate=gaode&callnative=1",
            "baidu": f"https://api.map.baidu.com/direction?destination=latlng:{lat},{lng}|name:{name}"
                     f"&coord_type=gcj02&mode=driving&output=html&src=webapp.fieldservice",
            "apple": f"https://maps.apple.com/?daddr={lat},{lng}&q={name}",
            "google": f"https://www.google.com/maps/dir/?api=1&destination={lat},{lng}",
        }
    else:
        geo = f"geo:0,0?q={name}"
        urls = {
            "amap": f"https://uri.amap.com/search?keyword={name}&callnative=1",
            "baidu": f"https://api.map.baidu.com/direction?destination={name}&mode=driving&region=&output=html"
                     f"&src=webapp.fieldservice",
            "apple": f"https://maps.apple.com/?daddr={name}",
            "google": f"https://www.google.com/maps/dir/?api=1&destination={name}",
        }
    return {
        "geo": geo,
        "exact": exact,
        "apps": [{"key": key, "label": label, "url": urls[key]} for key, label in NAVIGATION_APPS],
    }


def _job_or_404(request, pk, *, history: bool = True):
    work_order = selectors.tech_job_detail(user=request.user, pk=pk, history=history)
    if work_order is None:
        raise Http404(_("No such work order."))
    return work_order


@field_role_required
def job_list(request):
    technician = R.technician_profile(request.user)
    jobs = selectors.tech_job_list(technician=technician) if technician else None
    return render(request, "technicians/job_list.html", {"jobs": jobs, "technician": technician})


def _early_warning(ahead) -> str:
    """"The window starts in 2 days 3 hours": how far off a job is, for the departure warning."""
    minutes = int(ahead.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        span = ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
        if hours:
            span += " " + ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    elif hours:
        span = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    else:
        span = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return _("This job's window starts in %(span)s. Depart anyway only if you mean to go now.") % {"span": span}


@field_role_required
def job_detail(request, pk):
    work_order = _job_or_404(request, pk)
    roles = R.roles_of(request.user) or ({R.TECHNICIAN} if request.user.is_superuser else set())
    flow = flow_of(work_order.service_type)  # the service type's flow, from the row the page read
    allowed = {t.action for t in available_actions(work_order.status, roles, flow=flow)}
    actions = [TRANSITIONS[a] for a in FIELD_ACTIONS if a in allowed]
    report = selectors.tech_latest_report(work_order=work_order)
    ahead = selectors.early_departure(work_order) if "depart" in allowed else None
    context = {
        "early_warning": _early_warning(ahead) if ahead is not None else "",
        "wo": work_order,
        "actions": actions,
        "can_complete": "complete" in allowed,
        # The photos the service type's flow asks for on arrival (0: none; kept per process).
        "before_photos": flow.before_photos if "arrive" in allowed else 0,
        "hold_reasons": HoldReason.CHOICES,
        "maps": _maps_links(work_order),
        "history": selectors.equipment_history(work_order=work_order),
        "repeat_of": selectors.repeat_failure(work_order=work_order),
        "repeat_days": settings.REPEAT_FAILURE_DAYS,
        "checklist": checklist_for(service_type_id=work_order.service_type_id),
        # The answers given at intake (labels from the copy kept with the service types, read only
        # when there are answers: most jobs have none, and the page reads no service type otherwise).
        "custom": custom_values_shown(custom_fields_of(work_order.service_type_id), work_order.custom)
        if work_order.custom else [],
        # Technician and public articles for the service type and equipment model (one query).
        "articles": article_suggestions_for_work_order(work_order, Audience.TECHNICIAN),
        "photos": [(a, attachment_url(a.pk)) for a in work_order.customer_photos],
        "report": report,
        "events": [(event, event_label(event.action)) for event in work_order.events.all()],
        "follow_up_of": getattr(getattr(work_order, "follow_up_of_report", None), "work_order", None),
        # Location sharing: asked once; while the job is en route or on site the phone sends positions.
        "technician": R.technician_profile(request.user),
        "tracked": work_order.status in services.TRACKED_STATES,
        # Parts asked for this job, and the form to ask (the catalog only when the job is open).
        "job_requests": list(part_requests_visible_to(request.user).filter(work_order_id=work_order.pk)
                             .prefetch_related("lines__part")),
        "can_request_parts": work_order.status in OPEN_STATES,
    }
    if context["can_request_parts"]:
        context["catalog"] = list(part_active_list().only("part_number", "name", "unit", "unit_price"))
        context["part_rows"] = [("", "")] * PART_ROWS
    return render(request, "technicians/job_detail.html", context)


@require_POST
@field_role_required
def job_status(request, pk):
    form = StatusForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
            break
        return redirect("tech:job", pk=pk)
    if form.cleaned_data["action"] == "depart" and not form.cleaned_data["early_ok"]:
        job = _job_or_404(request, pk)
        # Only a job that can be departed for now gets the warning; anything else gets the lifecycle's answer.
        ahead = selectors.early_departure(job) if job.status in TRANSITIONS["depart"].sources else None
        if ahead is not None:
            messages.warning(request, _early_warning(ahead))
            return redirect("tech:job", pk=pk)
    try:
        if form.cleaned_data["action"] == "arrive" and request.FILES.getlist("photos"):
            # With the photos before the work, where the service type's flow asks for them.
            kwargs = form.transition_kwargs()
            workorder_arrive(work_order_id=pk, actor=request.user, photos=request.FILES.getlist("photos"),
                             note=kwargs["note"], latitude=kwargs["latitude"], longitude=kwargs["longitude"])
        else:
            workorder_transition(work_order_id=pk, actor=request.user, **form.transition_kwargs())
    except NotFound:
        raise Http404(_("No such work order.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("tech:job", pk=pk)
    action = TRANSITIONS[form.cleaned_data["action"]]
    messages.success(request, _("Done: %(action)s.") % {"action": action.label})
    if action.action == "reject":
        return redirect("tech:jobs")
    return redirect("tech:job", pk=pk)


def _completion_context(work_order, form, checklist, *, custom_form, answers=None, parts=None, errors=None,
                        error=None):
    catalog = list(part_active_list().only("part_number", "name", "unit", "unit_price"))
    rows = list(parts or [])
    rows += [("", "")] * max(PART_ROWS - len(rows), 0)
    return {
        "wo": work_order,
        "form": form,
        "custom_form": custom_form,
        "checklist": [(item, *(answers or {}).get(item.pk, ("", ""))) for item in checklist],
        "answer_choices": ChecklistAnswer.Answer.choices,
        "catalog": catalog,
        "part_rows": rows,
        "callout_fee": work_order.service_type.callout_fee,
        # What the service type's flow requires here (signature, fewest photos); kept per process.
        "flow": flow_of(work_order.service_type),
        "covered_percent": work_order.coverage_percent,
        "coverage_reason": work_order.coverage_reason,
        "labour_rate": labour_rate(),
        "errors": errors or {},
        "error": error,
    }


@field_role_required
def job_complete(request, pk):
    # The form (GET) reads the events (a hold for a second visit); a submission (POST) does not.
    work_order = _job_or_404(request, pk, history=request.method != "POST")
    checklist = checklist_for(service_type_id=work_order.service_type_id)
    custom_fields = custom_fields_for(work_order.service_type_id, CustomField.Stage.COMPLETION)
    if request.method != "POST":
        if work_order.status != Status.IN_PROGRESS:
            messages.error(request, _("Only a job in progress can be completed."))
            return redirect("tech:job", pk=pk)
        holds = [e for e in work_order.events.all() if e.action == "hold"]
        second_visit = bool(holds) and holds[-1].data.get("reason") == HoldReason.SECOND_VISIT
        form = CompletionForm(initial={"submission_key": CompletionForm.new_key(), "needs_second_visit": second_visit})
        custom_form = CustomAnswersForm(custom_fields=custom_fields)
        return render(request, "technicians/complete.html",
                      _completion_context(work_order, form, checklist, custom_form=custom_form))

    form = CompletionForm(request.POST)
    custom_form = CustomAnswersForm(request.POST, request.FILES, custom_fields=custom_fields)
    answers = checklist_answers(request.POST, checklist)
    parts = part_lines(request.POST)
    custom_valid = custom_form.is_valid()
    if not form.is_valid() or not custom_valid:
        errors = {name: list(errs) for name, errs in form.errors.items()}
        context = _completion_context(work_order, form, checklist, custom_form=custom_form, answers=answers,
                                      parts=parts, errors=errors, error=_("Please correct the marked fields."))
        return render(request, "technicians/complete.html", context, status=400)
    data = form.cleaned_data
    try:
        report, created = completion_submit(
            work_order_id=work_order.pk,
            actor=request.user,
            submission_key=data["submission_key"],
            work_done=data["work_done"],
            labour_minutes=data["labour_minutes"] if data["labour_minutes"] is not None else "",
            signer_name=data["signer_name"],
            signature=data["signature"],
            checklist=answers,
            parts=parts,
            photos=photo_uploads(request.FILES.getlist("photos"), request.POST.get("photo_meta", "")),
            needs_second_visit=data["needs_second_visit"],
            second_visit_reason=data["second_visit_reason"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            custom=custom_form.values(),
        )
    except NotFound:
        raise Http404(_("No such work order.")) from None
    except ApplicationError as exc:
        custom_errors_to_form(custom_form, exc)
        context = _completion_context(work_order, form, checklist, custom_form=custom_form, answers=answers,
                                      parts=parts, errors=exc.fields, error=exc.message)
        return render(request, "technicians/complete.html", context, status=exc.status_code)
    if created:
        messages.success(request, _("Report saved. %(number)s is resolved.") % {"number": work_order.number})
        if report.follow_up_work_order_id:
            messages.info(request, _("A second-visit work order %(number)s was created.")
                          % {"number": report.follow_up_work_order.number})
    else:
        messages.info(request, _("This report was already submitted."))
    return redirect("tech:job", pk=pk)


@require_POST
@field_role_required
def report_revise(request, pk):
    report = selectors.tech_latest_report(work_order=_job_or_404(request, pk))
    if report is None:
        raise Http404(_("No completion report."))
    form = ReviseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write your reply to the manager's comment."))
        return redirect("tech:job", pk=pk)
    try:
        completion_revise(report_id=report.pk, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sent for review again."))
    return redirect("tech:job", pk=pk)


@require_POST
@field_role_required
def location_consent(request):
    """The answer to "share your location while on a job?" (asked once on the job page)."""
    consent = request.POST.get("consent")
    if consent not in ("yes", "no"):
        messages.error(request, _("Choose yes or no."))
    else:
        try:
            services.technician_location_consent(user=request.user, consent=consent == "yes")
        except NotFound:
            raise Http404(_("You have no technician profile.")) from None
        messages.success(request, _("Your phone will send its position while a job is en route or on site.")
                         if consent == "yes" else _("Your phone will not send its position."))
    back = request.POST.get("next", "")
    if not back.startswith("/tech/") or back.startswith("//"):
        back = reverse("tech:jobs")
    return redirect(back)


@require_POST
@field_role_required
def job_position(request, pk):
    """A position from the technician's phone for their job (tech.js), as JSON or a form:
    ``latitude``, ``longitude``. 204 taken; 400 bad input; 403 no consent; 404 not their job;
    409 the job is not en route or on site. Django's CSRF check applies."""
    data = request.POST
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            return JsonResponse({"detail": _("The request could not be read.")}, status=400)
    try:
        services.position_record(user=request.user, work_order_id=pk, latitude=data.get("latitude"),
                                 longitude=data.get("longitude"))
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return HttpResponse(status=204)


# --- part requests: ask for parts, confirm receipt (inventory.requests) ----------------------


def _request_lines(post) -> list[tuple[str, str]]:
    """(part id, quantity) pairs from the picker's part numbers; an unknown number stays as it is
    typed, so that the service refuses it with its clear message."""
    pairs = [(n, q) for n, q in part_lines(post) if n or q]
    ids = dict(Part.objects.filter(part_number__in=[n for n, _q in pairs], active=True)
               .values_list("part_number", "id"))
    return [(str(ids.get(n, "x")), q) for n, q in pairs]


def _parts_context(technician) -> dict:
    return {
        "catalog": list(part_active_list().only("part_number", "name", "unit", "unit_price")),
        "part_rows": [("", "")] * PART_ROWS,
        "part_requests": list(part_requests_visible_to(technician.user).filter(technician=technician)
                              .prefetch_related("lines__part")[:50]) if technician else [],
    }


@require_POST
@field_role_required
def job_parts_request(request, pk):
    """Ask for parts for this job (to the van)."""
    work_order = _job_or_404(request, pk)
    try:
        part_request = part_request_create(actor=request.user, lines=_request_lines(request.POST),
                                           work_order_id=work_order.pk, note=request.POST.get("note", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Parts requested (request %(id)s).") % {"id": part_request.pk})
    return redirect(reverse("tech:job", args=[pk]) + "#parts")


@field_role_required
def parts(request):
    """My part requests (confirm receipt, cancel) and a request to restock the van."""
    technician = R.technician_profile(request.user)
    if request.method == "POST":
        try:
            part_request = part_request_create(actor=request.user, lines=_request_lines(request.POST),
                                               note=request.POST.get("note", ""))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Parts requested (request %(id)s).") % {"id": part_request.pk})
        return redirect("tech:parts")
    context = _parts_context(technician) if technician else {"part_requests": []}
    context["technician"] = technician
    return render(request, "technicians/parts.html", context)


@require_POST
@field_role_required
def parts_step(request, pk, action):
    """Confirm receipt of, or cancel, one of my part requests."""
    try:
        if action == "receive":
            part_request_receive(request_id=pk, actor=request.user)
            messages.success(request, _("Receipt confirmed: the parts are in your van."))
        elif action == "cancel":
            part_request_cancel(request_id=pk, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Request %(id)s cancelled.") % {"id": pk})
        else:
            raise Http404
    except NotFound:
        raise Http404(_("No such part request.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("tech:parts")
