"""Intake pages: the public request form, the customer's tracking page, the agents' phone intake.

Views stay thin: a form parses and checks, ``workorder_create`` changes state,
and these functions render the result.
"""

import logging
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from core import roles as R
from core.errors import Forbidden, InvalidInput, NotFound, ServiceUnavailable
from core.permissions import may
from core.storage import file_response
from core.validation import normalize_phone
from contracts.selectors import contract_line, contracts_running
from core.views import app_error_response, ratelimited
from catalog.selectors import service_type_by_code
from customers.models import Equipment
from customers.qr import equipment_id_from_token
from customers.selectors import customer_find_by_phone
from knowledge.services import suggestion_ids_parse, suggestion_outcome_record
from technicians.models import Technician

from ..duplicates import public_form_duplicate
from ..forms import EquipmentRequestForm, PhoneLookupForm, PublicRequestForm, StaffIntakeForm, equipment_label, site_label
from ..lifecycle import TRANSITIONS, Status
from ..models import Attachment, WorkOrder
from ..selectors import workorder_customer_page, workorder_for_tracking, workorder_visible_to
from ..services import workorder_add_customer_note, workorder_create

logger = logging.getLogger(__name__)

# The fields both intake forms pass to ``workorder_create`` as they are.
_FORM_TO_SERVICE = (
    "contact_name", "contact_phone", "contact_email", "service_type", "description", "priority",
    "preferred_start", "preferred_end", "submission_key",
)
# Hidden fields kept by static/knowledge/suggest.js: the articles it showed and those opened.
SUGGESTION_FIELDS = ("kb_shown", "kb_opened")

# ---------------------------------------------------------------------------
# Helpers


def _public_form_rate(group, request):
    # Read at request time, so that tests and the benchmark can change it.
    return settings.PUBLIC_FORM_RATE


def _apply_service_errors(form, exc: InvalidInput):
    """Put a service's field errors beside the form's fields (the rest on top)."""
    placed = False
    for field, messages in (exc.fields or {}).items():
        if field.startswith("custom."):  # a custom field's input is named custom_<key>
            field = "custom_" + field[len("custom."):]
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _create_from_form(form, **kwargs):
    """The work order made from a valid intake form (with ``kwargs`` for what differs by page),
    or None with the service's errors put on the form."""
    data = form.cleaned_data
    try:
        work_order, _created = workorder_create(**{name: data[name] for name in _FORM_TO_SERVICE}, **kwargs)
    except (InvalidInput, ServiceUnavailable) as exc:  # the latter: the photos' store did not answer
        _apply_service_errors(form, exc)
        return None
    return work_order


def _suggestions_typed(post) -> dict:
    """The suggestion script's hidden fields as sent, reduced to article ids, to show again."""
    return {name: ",".join(map(str, suggestion_ids_parse(post.get(name, "")))) for name in SUGGESTION_FIELDS}


def _record_suggestions(post, work_order) -> None:
    """Record which articles the form suggested and the customer opened before still submitting.

    The hidden fields come from the browser: ``suggestion_outcome_record`` keeps
    only ids of published public articles and skips the rest. The request is
    already made, so a failure here is logged and the customer still gets it.
    Most requests saw no suggestion: then there is nothing to record or look up.
    """
    if not any(suggestion_ids_parse(post.get(name, "")) for name in SUGGESTION_FIELDS):
        return
    try:
        with transaction.atomic():
            suggestion_outcome_record(
                work_order=work_order, shown=post.get("kb_shown", ""), opened=post.get("kb_opened", "")
            )
    except DatabaseError:
        logger.exception("Could not record the suggestions shown for work order %s", work_order.pk)


def _triage_outcome(post, form) -> dict | None:
    """What the triage panel suggested on the intake page and whether the agent accepted it, from
    the hidden fields static/triage/triage.js keeps, for the creation event's data (the
    acceptance rate, ``triage.selectors.acceptance_rate``); None when nothing was suggested."""

    def number(name):
        value = (post.get(name) or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None

    version = number("triage_version")
    if version is None:
        return None
    suggested_type, suggested_priority = number("triage_service_type"), number("triage_priority")
    chosen_type = form.cleaned_data["service_type"].pk
    return {"triage": {
        "version": version,
        "service_type": suggested_type,
        "priority": suggested_priority,
        "accepted": post.get("triage_accepted") == "1",
        # Whether the order went out with what was suggested, pressed or typed.
        "kept": (suggested_type in (None, chosen_type)
                 and suggested_priority in (None, form.cleaned_data["priority"])),
    }}


def _file_response(attachment: Attachment):
    """The attachment's file, after the caller's check (core/storage.py: local or a signed URL)."""
    return file_response(attachment.file, content_type=attachment.content_type)


def _acting_office_role(user) -> str:
    """The office role in which ``user`` takes a request (agent first)."""
    names = R.roles_of(user)
    for role in (R.AGENT, R.DISPATCHER, R.MANAGER):
        if role in names:
            return role
    return "admin" if user.is_superuser else R.AGENT


def office_required(view=None, *, json=False):
    """Agents, dispatchers and managers (and superusers); anonymous users log in first."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if json:
                    return JsonResponse({"error": "not_authenticated", "detail": _("Log in first.")}, status=401)
                return redirect_to_login(request.get_full_path())
            if not may(user, "workorders.take_requests"):
                error = Forbidden(_("Only agents, dispatchers and managers may take requests."))
                if json:
                    return JsonResponse(error.as_dict(), status=403)
                return app_error_response(request, error)
            return fn(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


# ---------------------------------------------------------------------------
# The public request form


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_public_form_rate, method="POST", block=False)
def request_create(request):
    """``/request/``: anyone asks for service; no login."""
    if getattr(request, "limited", False):
        return ratelimited(request)
    status = 200
    suggestions = dict.fromkeys(SUGGESTION_FIELDS, "")
    if request.method == "POST":
        form = PublicRequestForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            # The same phone with the same problem again, soon after (a second tab, a new key, an
            # impatient customer): it joins the open order instead of making a second one.
            repeated = public_form_duplicate(phone=data["contact_phone"], description=data["description"])
            if repeated is not None:
                key = str(data["submission_key"]) if data["submission_key"] is not None else None
                if key is None or repeated["submission_key"] != key:
                    workorder_add_customer_note(work_order_id=repeated["id"], status=repeated["status"],
                                                note=data["description"], photos=data["photos"])
                    done = reverse("intake:request-done", args=[repeated["public_token"]])
                    return redirect(f"{done}?joined=1")
                return redirect("intake:request-done", token=repeated["public_token"])
            work_order = _create_from_form(
                form,
                channel=WorkOrder.Channel.WEB,
                address=form.cleaned_data["address"],
                photos=form.cleaned_data["photos"],
                language=request.LANGUAGE_CODE,
                actor_role=R.CUSTOMER,
            )
            if work_order is not None:
                _record_suggestions(request.POST, work_order)
                return redirect("intake:request-done", token=work_order.public_token)
        status = 400
        suggestions = _suggestions_typed(request.POST)
    else:
        form = PublicRequestForm()
    context = {"form": form, "suggestions": suggestions}
    return render(request, "workorders/intake/request_form.html", context, status=status)


def _labelled_equipment(token):
    """The equipment a QR label's code names, with its customer and site; None for a code that was
    altered or names equipment no longer on file."""
    equipment_id = equipment_id_from_token(token)
    if equipment_id is None:
        return None
    return Equipment.objects.select_related("customer", "site").filter(pk=equipment_id).first()


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_public_form_rate, method="POST", block=False)
def request_for_equipment(request, token):
    """``/request/equipment/<code>/``: the form a QR label on a piece of equipment opens. The
    customer, site and equipment come from the signed code and cannot be changed; the person
    says what is wrong and may add photos."""
    if getattr(request, "limited", False):
        return ratelimited(request)
    equipment = _labelled_equipment(token)
    if equipment is None:
        error = NotFound(_("This label's code is not valid. Please call us, or use the request form."))
        return app_error_response(request, error)
    if not equipment.active:
        # A retired piece keeps its label: say so rather than open a form (nothing is created on POST).
        error = NotFound(_("This equipment is out of service. Please call us, or use the request form."))
        return app_error_response(request, error)
    customer = equipment.customer
    site = equipment.site or customer.sites.order_by("id").first()
    default_type = service_type_by_code(settings.QR_REQUEST_SERVICE_TYPE) if settings.QR_REQUEST_SERVICE_TYPE else None
    if default_type is not None and not default_type.active:
        default_type = None
    status = 200
    if request.method == "POST":
        form = EquipmentRequestForm(request.POST, request.FILES, service_type=default_type)
        if form.is_valid() and site is None:
            form.add_error(None, _("We have no address for this equipment. Please call us, or use the request form."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                work_order, _created = workorder_create(
                    channel=WorkOrder.Channel.WEB, contact_name=customer.name, contact_phone=customer.phone,
                    contact_email=customer.email, address=site.address, service_type=data["service_type"],
                    description=data["description"], submission_key=data["submission_key"],
                    photos=data["photos"], language=request.LANGUAGE_CODE, actor_role=R.CUSTOMER,
                    customer=customer, site=site, equipment=equipment,
                )
            except InvalidInput as exc:
                _apply_service_errors(form, exc)
            else:
                return redirect("intake:request-done", token=work_order.public_token)
        status = 400
    else:
        form = EquipmentRequestForm(service_type=default_type)
    context = {"form": form, "equipment": equipment, "customer": customer, "site": site}
    response = render(request, "workorders/intake/request_equipment.html", context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def request_done(request, token):
    """``/request/done/<token>/``: the number and the private tracking link."""
    work_order = WorkOrder.objects.only("id", "created_at", "public_token").filter(public_token=token).first()
    if work_order is None:
        raise Http404(_("No such request."))
    track_url = request.build_absolute_uri(reverse("intake:track", args=[work_order.public_token]))
    # ?joined=1: the request repeated an open one and was added to it (request_create).
    context = {"work_order": work_order, "track_url": track_url, "joined": request.GET.get("joined") == "1"}
    response = render(request, "workorders/intake/request_done.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ---------------------------------------------------------------------------
# Tracking


def _technician_first_names(work_order, events) -> dict:
    """First names of the technicians named in assignment events (one query at most)."""
    names = {}
    if work_order.technician_id and work_order.technician:
        names[work_order.technician_id] = work_order.technician.user.first_name
    wanted = {e.data.get("technician") for e in events if isinstance(e.data, dict)} - set(names) - {None}
    if wanted:
        for tech_id, first_name in Technician.objects.filter(pk__in=wanted).values_list("pk", "user__first_name"):
            names[tech_id] = first_name
    return names


def _customer_history(work_order) -> list[dict]:
    """The events a customer may see, each in a fixed, translated sentence for its kind.

    A whitelist: a transition's sentence is its ``customer_text`` in the lifecycle table; other
    events not named here (escalations, reviews, call-backs) are left out.
    No event's note is ever shown: hold and rejection reasons, cancellation reasons and
    the technician's and dispatchers' notes are written for the office, not for the
    customer. Staff are never named, except the technician by first name.
    """
    events = list(work_order.events.all())
    names = _technician_first_names(work_order, events)
    rows = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        first_name = names.get(data.get("technician"), "") if data.get("technician") else ""
        text = None
        action = event.action
        if action == "create":
            text = _("We received your request.")
        elif action == "customer_note":
            text = _("You sent this request again; we added it to this one.")
        elif action == "note" and event.actor_role == R.CUSTOMER:
            text = _("You added a note or photos.")
        elif action == "reschedule" and isinstance(data.get("after"), list):
            after = [parse_datetime(value) for value in data["after"]]
            if all(after):
                text = _("Your visit was moved to %(start)s–%(end)s.") % {
                    "start": formats.date_format(timezone.localtime(after[0]), "Y-m-d H:i"),
                    "end": formats.time_format(timezone.localtime(after[1]), "H:i")}
        elif action in TRANSITIONS:
            # Each transition's sentence is in its row of the lifecycle table (customer_text).
            transition = TRANSITIONS[action]
            if first_name and transition.customer_text_named:
                text = str(transition.customer_text_named) % {"name": first_name}
            elif transition.customer_text:
                text = str(transition.customer_text)
        if text is not None:
            rows.append({"time": event.created_at, "text": text, "status": event.to_status})
    return rows


@never_cache
@require_GET
def track(request, token):
    """``/track/<token>/``: where one request stands, for the customer who holds its link."""
    work_order = workorder_for_tracking(token=token)
    if work_order is None:
        raise Http404(_("No such request."))
    photos = list(
        work_order.attachments.filter(kind=Attachment.Kind.CUSTOMER_PHOTO).only("id", "work_order_id", "original_name")
    )
    technician_name = ""
    if work_order.technician_id and work_order.status not in (Status.NEW, Status.CANCELLED):
        technician_name = work_order.technician.user.first_name
    context = {
        "work_order": work_order,
        "history": _customer_history(work_order),
        "photos": photos,
        "technician_name": technician_name,
        # What other apps add (selectors.register_customer_page_part): the description in the
        # customer's words and the visit this one follows, whether a service report is ready.
        **workorder_customer_page(work_order=work_order),
    }
    response = render(request, "workorders/intake/track.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def track_photo(request, token, pk):
    """One of the customer's own photos, only through their tracking link."""
    if not token or len(token) > 64:
        raise Http404
    attachment = Attachment.objects.filter(
        pk=pk, work_order__public_token=token, kind=Attachment.Kind.CUSTOMER_PHOTO
    ).first()
    if attachment is None:
        raise Http404(_("No such photo."))
    return _file_response(attachment)


@login_required
@require_GET
def attachment(request, pk):
    """Any attachment of a work order the user may see; otherwise 404 (not revealing it exists)."""
    found = Attachment.objects.filter(pk=pk, work_order__in=workorder_visible_to(request.user)).first()
    if found is None:
        raise Http404(_("No such attachment."))
    return _file_response(found)


# ---------------------------------------------------------------------------
# Phone intake for agents


def _caller(raw_phone: str):
    """(normalised phone, the customer with that phone or None, the phone's error or None)."""
    try:
        phone = normalize_phone(raw_phone, field="contact_phone")
    except InvalidInput as exc:
        return None, None, exc
    return phone, customer_find_by_phone(phone=phone), None


def _caller_cover(customer) -> list[str]:
    """A repeat caller's cover, one line each: their running contracts with the visits left
    ("Contract C-2026-014, 3 of 6 visits left") and their equipment under warranty."""
    if customer is None:
        return []
    today = timezone.localdate()
    lines = []
    for contract in contracts_running(customer_id=customer.pk, day=today):
        left = None if contract.included_visits is None else max(contract.included_visits - contract.visits_used, 0)
        line = contract_line(contract, left, contract.included_visits)
        if contract.equipment_id:
            line += " · " + _("only %(equipment)s") % {"equipment": equipment_label(contract.equipment)}
        types = [t.name for t in contract.service_types.all()]
        if types:
            line += " · " + ", ".join(types)
        lines.append(line)
    for piece in customer.equipment.all():
        if piece.warranty_end and piece.warranty_end >= today:
            lines.append(_("%(equipment)s: under warranty until %(day)s") % {
                "equipment": equipment_label(piece), "day": formats.date_format(piece.warranty_end, "SHORT_DATE_FORMAT")})
    return lines


def _customer_url(pk: int) -> str:
    """The customer page (customer360), which a repeat caller's lookup links to."""
    return reverse("c360:customer", args=[pk])


def _detail_url(pk: int) -> str:
    try:
        return reverse("staff:detail", args=[pk])
    except NoReverseMatch:  # the staff pages are not mounted (yet)
        return f"/staff/work-orders/{pk}/"


def _lookup_form(typed: dict, customer, phone_error):
    """Re-show what was typed, with the caller's details and choices filled in.

    Only the phone can be wrong at this step: the other fields are still being
    filled in, so they show no errors yet.
    """
    initial = {key: value for key, value in typed.items()
               if key in StaffIntakeForm.base_fields or key.startswith("custom_")}
    if customer is not None:
        initial["contact_name"] = initial.get("contact_name") or customer.name
        initial["contact_email"] = initial.get("contact_email") or customer.email
        sites = list(customer.sites.all())
        if not initial.get("site") and not initial.get("address") and len(sites) == 1:
            initial["site"] = sites[0].pk
    form = StaffIntakeForm(initial=initial, customer=customer)
    if phone_error is not None:
        messages = phone_error.fields.get("contact_phone") or [phone_error.message]
        form.errors["contact_phone"] = form.error_class([str(m) for m in messages])
    return form


@office_required
@require_http_methods(["GET", "POST"])
def staff_intake(request):
    """``/staff/work-orders/new/``: an agent takes a request by phone.

    "Look up" (a POST with ``lookup``, or ``?phone=`` in the address) re-shows
    the form with the caller's sites and equipment; any other POST saves.
    """
    if request.method == "POST" and "lookup" not in request.POST:
        _phone, customer, _error = _caller(request.POST.get("contact_phone", ""))
        form = StaffIntakeForm(request.POST, customer=customer)
        if form.is_valid():
            site = form.cleaned_data["site"]
            work_order = _create_from_form(
                form,
                channel=WorkOrder.Channel.PHONE,
                address=form.cleaned_data["address"] if site is None else site.address,
                language=customer.language if customer else settings.LANGUAGE_CODE,
                created_by=request.user,
                actor_role=_acting_office_role(request.user),
                customer=customer,
                site=site,
                equipment=form.cleaned_data["equipment"],
                event_data=_triage_outcome(request.POST, form),
                custom=form.cleaned_data.get("custom", {}),
            )
            if work_order is not None:
                return redirect(_detail_url(work_order.pk))
        context = {"form": form, "customer": customer, "looked_up": True}
        return render(request, "workorders/intake/staff_intake.html", context, status=400)

    if request.method == "POST":
        typed = {"contact_phone": "", **request.POST.dict()}
    else:
        typed = {"contact_phone": request.GET.get("phone", "")}
    # A "Look up" press always checks the phone; a plain visit only when one is given.
    looked_up = request.method == "POST" or bool(typed["contact_phone"].strip())
    customer = phone_error = None
    if looked_up:
        _phone, customer, phone_error = _caller(typed["contact_phone"])
    form = _lookup_form(typed, customer, phone_error)
    context = {"form": form, "customer": customer, "looked_up": looked_up, "cover": _caller_cover(customer)}
    return render(request, "workorders/intake/staff_intake.html", context)


@office_required(json=True)
@require_GET
def customer_lookup(request):
    """``/staff/customers/lookup/?phone=...``: a repeat caller's details, sites and equipment, as JSON."""
    form = PhoneLookupForm(request.GET)
    if not form.is_valid():
        return JsonResponse(
            {
                "error": "invalid",
                "detail": _("Enter a valid mobile phone number."),
                "fields": {name: [str(m) for m in errors] for name, errors in form.errors.items()},
            },
            status=400,
        )
    phone = form.cleaned_data["phone"]
    customer = customer_find_by_phone(phone=phone)
    if customer is None:
        return JsonResponse(
            {"found": False, "phone": phone, "message": _("New caller: a customer record will be created.")}
        )
    sites = list(customer.sites.all())
    equipment = [e for e in customer.equipment.all() if e.active]  # retired equipment is not offered
    return JsonResponse(
        {
            "found": True,
            "phone": phone,
            "message": _("Repeat caller: %(name)s (%(tier)s), %(sites)d site(s), %(equipment)d piece(s) of equipment.")
            % {
                "name": customer.name,
                "tier": customer.get_tier_display(),
                "sites": len(sites),
                "equipment": len(equipment),
            },
            "customer": {
                "id": customer.pk,
                "url": _customer_url(customer.pk),
                "name": customer.name,
                "email": customer.email,
                "tier": customer.tier,
            },
            "sites": [{"id": s.pk, "label": site_label(s)} for s in sites],
            "equipment": [{"id": e.pk, "label": equipment_label(e), "site": e.site_id} for e in equipment],
            "cover": _caller_cover(customer),
        }
    )
