"""Staff pages: the work-order queue, the detail page and its transition buttons.

Thin views: parse the request, call a selector or ``services.workorder_transition``,
render. Every page issues a fixed number of SQL queries however many work orders
or events there are; the queue never counts the whole table.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import roles as R
from core.errors import ApplicationError, InvalidInput, NotFound
from core.pagination import SORTS, keyset_page
from technicians.models import Technician

from .filters import WorkOrderFilter
from .lifecycle import TRANSITIONS, available_actions
from .models import Attachment
from .selectors import workorder_detail, workorder_is_visible_to, workorder_list, workorder_visible_to
from .services import workorder_transition

SORT_LABELS = {
    "-id": gettext_lazy("Newest first"),
    "id": gettext_lazy("Oldest first"),
    "-priority": gettext_lazy("Most urgent first"),
    "priority": gettext_lazy("Least urgent first"),
}
SORT_CHOICES = [(key, SORT_LABELS.get(key, key)) for key in SORTS]

# The queue shows how many rows match up to this many, then "1,000+":
# counting further would cost a scan of the table on every request.
COUNT_CAP = 1000

# Events that are not transitions.
EVENT_LABELS = {"create": gettext_lazy("Created")}

# Filters a field role does not need (they only see their own or their company's jobs).
FIELD_HIDDEN_FILTERS = ("technician", "unassigned")


def _has_staff_role(user) -> bool:
    return user.is_superuser or bool(R.roles_of(user) & set(R.STAFF_ROLES))


def _is_field(user) -> bool:
    return not user.is_superuser and not R.is_office(user) and bool(R.roles_of(user) & R.FIELD_ROLES)


def _no_role(request):
    return render(request, "core/no_role.html", status=403)


def _page_query(params, **changes) -> str:
    """The current query string with ``changes`` applied (None removes a key)."""
    query = params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    return query.urlencode()


@login_required
def workorder_list_page(request):
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)

    errors = []
    params = request.GET
    filterset = WorkOrderFilter(params or None, queryset=workorder_list(user=user), request=request)
    field_role = _is_field(user)
    if field_role:
        for name in FIELD_HIDDEN_FILTERS:
            filterset.form.fields.pop(name, None)
    for name in ("created_after", "created_before", "due_after", "due_before"):
        if name in filterset.form.fields:
            filterset.form.fields[name].widget.attrs.update({"placeholder": "2026-01-31"})

    sort = params.get("sort") or "-id"
    if sort not in SORTS:
        errors.append(_("Unknown sort order; showing the newest first."))
        sort = "-id"

    page = None
    shown_count = None
    if filterset.is_bound and not filterset.is_valid():
        # The form shows which filter is wrong; no rows until it is corrected,
        # rather than a list that silently ignores part of what was asked.
        pass
    else:
        qs = filterset.qs
        cursor = params.get("cursor") or None
        try:
            page = keyset_page(qs, sort=sort, cursor=cursor, size=settings.STAFF_PAGE_SIZE)
        except InvalidInput:
            errors.append(_("That page link is no longer valid; showing the first page."))
            page = keyset_page(qs, sort=sort, size=settings.STAFF_PAGE_SIZE)
        # A capped count: at most COUNT_CAP + 1 index entries are read.
        matched = qs.order_by().values("pk")[: COUNT_CAP + 1].count()
        shown_count = f"{COUNT_CAP:,}+" if matched > COUNT_CAP else f"{matched:,}"

    context = {
        "filter": filterset,
        "form": filterset.form,
        "page": page,
        "rows": page.items if page else [],
        "sort": sort,
        "sort_choices": SORT_CHOICES,
        "shown_count": shown_count,
        "errors": errors,
        "field_role": field_role,
        "next_query": _page_query(params, cursor=page.next_cursor) if page and page.next_cursor else None,
        "prev_query": _page_query(params, cursor=page.prev_cursor) if page and page.prev_cursor else None,
        "first_query": _page_query(params, cursor=None) if page and page.prev_cursor else None,
    }
    return render(request, "workorders/staff/list.html", context)


def _attachment_url(pk: int) -> str:
    try:
        return reverse("intake:attachment", args=[pk])
    except NoReverseMatch:
        return f"/attachments/{pk}/"


def _actions_for(user, status):
    if user.is_superuser:
        return [t for t in TRANSITIONS.values() if status in t.sources]
    return available_actions(status, R.roles_of(user))


def _local_input(value) -> str:
    """A datetime as a ``datetime-local`` input value, in the current time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


@login_required
def workorder_detail_page(request, pk: int):
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)
    work_order = workorder_detail(user=user, pk=pk)
    if work_order is None:
        raise Http404(_("No such work order."))

    photos = []
    for attachment in work_order.attachments.all():
        if attachment.kind == Attachment.Kind.CUSTOMER_PHOTO:
            attachment.url = _attachment_url(attachment.pk)
            photos.append(attachment)

    events = list(work_order.events.all())
    for event in events:
        transition = TRANSITIONS.get(event.action)
        event.action_label = transition.label if transition else EVENT_LABELS.get(event.action, event.action)
        event.role_label = R.LABELS.get(event.actor_role, event.actor_role)

    actions = _actions_for(user, work_order.status)
    technicians = []
    if any(t.needs_technician for t in actions):
        technicians = list(
            Technician.objects.filter(active=True).select_related("user", "partner_company").order_by("user__username")
        )
    context = {
        "wo": work_order,
        "events": events,
        "photos": photos,
        "actions": actions,
        "technicians": technicians,
        "field_role": _is_field(user),
        "appointment_start": _local_input(work_order.appointment_start or work_order.preferred_start),
        "appointment_end": _local_input(work_order.appointment_end or work_order.preferred_end),
    }
    return render(request, "workorders/staff/detail.html", context)


class TransitionForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=[(key, t.label) for key, t in TRANSITIONS.items()])
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)
    technician = forms.IntegerField(label=gettext_lazy("Technician"), required=False, min_value=1)
    appointment_start = forms.DateTimeField(label=gettext_lazy("Appointment from"), required=False)
    appointment_end = forms.DateTimeField(label=gettext_lazy("Appointment until"), required=False)
    # Checked by the service (range and pairing); browsers send many decimals.
    latitude = forms.CharField(label=gettext_lazy("Position"), required=False, max_length=32)
    longitude = forms.CharField(label=gettext_lazy("Position"), required=False, max_length=32)


def _form_error_message(form) -> str:
    parts = []
    for name, errs in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errs)}" if label else " ".join(errs))
    return " ".join(parts)


@login_required
@require_POST
def workorder_transition_page(request, pk: int):
    user = request.user
    if not _has_staff_role(user) or not workorder_visible_to(user).filter(pk=pk).exists():
        raise Http404(_("No such work order."))
    detail_url = reverse("staff:detail", args=[pk])
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_error_message(form))
        return redirect(detail_url)
    data = form.cleaned_data
    try:
        work_order = workorder_transition(
            work_order_id=pk,
            action=data["action"],
            actor=user,
            note=data["note"],
            technician_id=data["technician"],
            appointment_start=data["appointment_start"],
            appointment_end=data["appointment_end"],
            latitude=data["latitude"] or None,
            longitude=data["longitude"] or None,
        )
    except NotFound:
        raise Http404(_("No such work order.")) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url)

    transition = TRANSITIONS[data["action"]]
    messages.success(
        request,
        _("%(number)s: %(action)s done; it is now %(status)s.")
        % {"number": work_order.number, "action": transition.label, "status": work_order.get_status_display()},
    )
    if not workorder_is_visible_to(user, work_order):
        # E.g. a technician who rejected a job no longer sees it.
        return redirect("staff:list")
    return redirect(detail_url)
