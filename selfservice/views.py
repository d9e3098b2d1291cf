"""The customer's self-service pages: thin, each calls a work-order service or a selector.

Every page behind a tracking link finds its order by that token only (404 otherwise), so a
link only ever reaches its own order.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited
from django_ratelimit.decorators import ratelimit

from core import roles as R
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from core.views import ratelimited
from dispatch.selectors import visit_windows_offered
from workorders.services import visit_window, visit_window_version, workorder_add_note, workorder_reschedule, workorder_transition
from workorders.selectors import workorder_for_tracking

from .forms import CancelForm, CodeForm, NoteForm, PhoneForm, RescheduleForm, window_label
from .selectors import may_add_note, may_cancel, may_reschedule, requests_for_phone
from .services import phone_code_check, phone_code_send

SESSION_KEY = "selfservice"


def _public_form_rate(group, request):
    return settings.PUBLIC_FORM_RATE


def _order(token):
    work_order = workorder_for_tracking(token=token)
    if work_order is None:
        raise Http404(_("No such request."))
    return work_order


def _render(request, template, context, status=200):
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _back(work_order):
    return redirect(reverse("intake:track", args=[work_order.public_token]))


@never_cache
@ratelimit(key="ip", rate=_public_form_rate, method="POST", block=True)
@require_http_methods(["GET", "POST"])
def cancel(request, token):
    """``/track/<token>/cancel/``: cancel the request, with a reason, before a technician is on the way."""
    work_order = _order(token)
    form = CancelForm(request.POST or None)
    error = None if may_cancel(work_order) else _(
        "Your technician is already on the way, so this request can no longer be cancelled here. Please call us.")
    if request.method == "POST" and error is None and form.is_valid():
        try:
            workorder_transition(work_order_id=work_order.pk, action="cancel", actor_role=R.CUSTOMER,
                                 note=form.cleaned_data["reason"], data={"channel": "tracking"})
        except Conflict:
            # Between showing the page and now, the technician set off (the lifecycle table said no).
            error = _("Your technician is already on the way, so this request can no longer be cancelled here. "
                      "Please call us.")
        except (InvalidInput, Forbidden) as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("Your request was cancelled."))
            return _back(work_order)
    status = 409 if error and request.method == "POST" else 200
    return _render(request, "selfservice/cancel.html", {"work_order": work_order, "form": form, "error": error},
                   status=status)


@never_cache
@ratelimit(key="ip", rate=_public_form_rate, method="POST", block=True)
@require_http_methods(["GET", "POST"])
def add_note(request, token):
    """``/track/<token>/note/``: a note or photos for the request (``workorder_add_note``)."""
    work_order = _order(token)
    if not may_add_note(work_order):
        raise Http404(_("This request is closed."))
    form = NoteForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            workorder_add_note(work_order_id=work_order.pk, note=form.cleaned_data["note"], actor_role=R.CUSTOMER,
                               photos=form.cleaned_data["photos"], data={"channel": "tracking"})
        except (InvalidInput, ServiceUnavailable) as exc:
            form.add_error(None, str(exc.message))
        except NotFound as exc:
            raise Http404(str(exc.message)) from exc
        else:
            messages.success(request, _("Thank you: we added your note to the request."))
            return _back(work_order)
    status = 400 if form.errors else 200
    return _render(request, "selfservice/note.html", {"work_order": work_order, "form": form}, status=status)


@never_cache
@ratelimit(key="ip", rate=_public_form_rate, method="POST", block=True)
@require_http_methods(["GET", "POST"])
def reschedule(request, token):
    """``/track/<token>/reschedule/``: move the visit to one of the offered windows."""
    work_order = _order(token)
    current = visit_window(work_order)
    context = {"work_order": work_order, "current": window_label(*current) if current[0] and current[1] else "",
               "cutoff": settings.SELF_SERVICE_CUTOFF_HOURS}
    if not may_reschedule(work_order):
        context["error"] = _("This visit can no longer be moved here: please call us.")
        return _render(request, "selfservice/reschedule.html", context, status=409 if request.method == "POST" else 200)
    windows = visit_windows_offered(work_order=work_order)
    form = RescheduleForm(request.POST or None, windows=windows,
                          initial={"seen": visit_window_version(work_order)})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            start, end = form.chosen()
            try:
                workorder_reschedule(work_order_id=work_order.pk, start=start, end=end,
                                     seen=form.cleaned_data["seen"], actor_role=R.CUSTOMER)
            except Conflict as exc:
                context["error"] = str(exc.message)
                status = 409
                if exc.code == "stale":
                    # The visit moved meanwhile: show it as it is now, with a form for this version.
                    work_order = _order(token)
                    current = visit_window(work_order)
                    context.update(work_order=work_order,
                                   current=window_label(*current) if current[0] and current[1] else "")
                    form = RescheduleForm(windows=visit_windows_offered(work_order=work_order),
                                          initial={"seen": visit_window_version(work_order)})
            except InvalidInput as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("Your visit was moved to %(window)s.") % {"window": window_label(start, end)})
                return _back(work_order)
    context["form"] = form
    return _render(request, "selfservice/reschedule.html", context, status=status)


# ---------------------------------------------------------------------------
# "My requests": a phone verified by an SMS code


def _phone_key(group, request):
    form = PhoneForm(request.POST)
    return form.cleaned_data["phone"] if form.is_valid() else (request.POST.get("phone") or "")[:30]


def _verified_phone(request) -> str | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("until", 0) < time.time():
        return None
    return data.get("phone")


@never_cache
@require_http_methods(["GET", "POST"])
def my_requests(request):
    """``/my-requests/``: ask for a code, enter it, then see every request made with the phone."""
    phone = _verified_phone(request)
    if phone is not None:
        context = {"phone": phone, "orders": requests_for_phone(phone=phone)}
        return _render(request, "selfservice/my_requests.html", context)
    step = request.POST.get("step", "")
    phone_form, code_form, status = PhoneForm(), None, 200
    if request.method == "POST" and step == "phone":
        phone_form = PhoneForm(request.POST)
        if phone_form.is_valid():
            # Per address and per phone (django-ratelimit, the "ratelimit" cache).
            for group, key, rate in (("selfservice-code-ip", "ip", settings.SELF_SERVICE_CODE_IP_RATE),
                                     ("selfservice-code-phone", _phone_key, settings.SELF_SERVICE_CODE_PHONE_RATE)):
                if is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True):
                    return ratelimited(request)
            try:
                phone_code_send(phone=phone_form.cleaned_data["phone"], language=get_language() or "")
            except Conflict as exc:
                phone_form.add_error("phone", str(exc.message))
                status = 429
            else:
                code_form = CodeForm(initial={"phone": phone_form.cleaned_data["phone"]})
        else:
            status = 400
    elif request.method == "POST" and step == "code":
        # Codes tried from one address, whatever the phone (each code's own tries are counted too).
        if is_ratelimited(request, group="selfservice-check-ip", key="ip", rate=settings.SELF_SERVICE_CHECK_IP_RATE,
                          method="POST", increment=True):
            return ratelimited(request)
        code_form = CodeForm(request.POST)
        status = 400
        if code_form.is_valid():
            phone = code_form.cleaned_data["phone"]
            try:
                phone_code_check(phone=phone, code=code_form.cleaned_data["code"])
            except InvalidInput as exc:
                code_form.add_error("code", str(exc.message))
            except Conflict as exc:
                return _render(request, "selfservice/sign_in.html",
                               {"phone_form": PhoneForm(initial={"phone": phone}), "code_form": None,
                                "error": str(exc.message)}, status=429)
            else:
                request.session.cycle_key()  # a new session id once the phone is proven
                request.session[SESSION_KEY] = {
                    "phone": phone, "until": time.time() + settings.SELF_SERVICE_SESSION_MINUTES * 60}
                return redirect("selfservice:my-requests")
    context = {"phone_form": phone_form, "code_form": code_form}
    return _render(request, "selfservice/sign_in.html", context, status=status)


@require_http_methods(["POST"])
def sign_out(request):
    request.session.pop(SESSION_KEY, None)
    return redirect("selfservice:my-requests")
