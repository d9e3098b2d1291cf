"""Staff pages: the work-order queue, the detail page and its transition buttons.

Thin views: parse the request, call a selector or ``services.workorder_transition``,
render. Every page issues a fixed number of SQL queries however many work orders
or events there are; the queue never counts the whole table.
"""

from html import escape as html_escape

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import linebreaksbr
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import roles as R
from core.errors import ApplicationError, InvalidInput, NotFound
from core.pagination import SORTS, keyset_page
from core.refcache import VersionedCache
from technicians.models import Technician

from .filters import WorkOrderFilter, filter_controls
from .lifecycle import TRANSITIONS, Status, available_actions
from .models import Attachment, SlaTarget, WorkOrder
from .selectors import (
    service_types_by_pk,
    technician_refs,
    workorder_detail,
    workorder_is_visible_to,
    workorder_queue_rows,
    workorder_scope_key,
    workorder_visible_to,
)
from .services import workorder_transition
from .sla import target_states_html, target_states_rows

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
# "1,000+" is kept per process for a few seconds for each scope and filter (a busy
# queue is opened many times a second, and each count reads 1,001 index entries).
# Smaller counts are always exact; "1,000+" may show for up to this long after the
# matching orders fell to 1,000 or fewer.
SATURATED_COUNT_SECONDS = 10.0
SATURATED_COUNTS = VersionedCache("queue_saturated_counts", max_age=SATURATED_COUNT_SECONDS, max_entries=1000)

# Events that are not transitions.
EVENT_LABELS = {
    "create": gettext_lazy("Created"),
    "escalate": gettext_lazy("SLA escalation"),
    "survey": gettext_lazy("Survey answered"),
    "report_approved": gettext_lazy("Report approved"),
    "report_sent_back": gettext_lazy("Report sent back"),
    "report_revised": gettext_lazy("Report revised"),
}

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


# One row of the queue. Rendered here, not cell by cell in the template: with 50 rows
# the template's per-variable cost was most of the page's time. Every value is escaped.
QUEUE_ROW_HTML = (
    '<tr><td><a href="{url}">{number}</a></td>'
    '<td><span class="badge status-{status}">{status_label}</span></td>'
    '<td class="prio-{priority}">{priority_label}</td>'
    "<td>{service_type}</td><td>{customer}</td><td>{address}</td><td>{technician}</td>"
    "<td>{created}</td><td>{appointment}</td><td>{sla}</td></tr>"
)


def _queue_rows(items) -> list[dict]:
    """What each row of the queue shows, formatted once, and the row's HTML."""
    status_labels = {value: str(label) for value, label in Status.choices}
    priority_labels = {value: str(label) for value, label in WorkOrder.Priority.choices}
    unassigned = format_html('<span class="help">{}</span>', _("Unassigned"))
    tz = timezone.get_current_timezone()
    detail_url = reverse("staff:detail", args=[999999999]).replace("999999999", "{}")
    service_types = service_types_by_pk({r["service_type_id"] for r in items})
    technicians = technician_refs({r["technician_id"] for r in items})
    escaped_labels = {key: html_escape(label) for key, label in [*status_labels.items(), *priority_labels.items()]}
    escaped_types = {pk: html_escape(st.name) for pk, st in service_types.items()}
    sla_states = target_states_rows(items)
    rows = []
    for r, states in zip(items, sla_states, strict=True):
        pk = r["id"]
        created = r["created_at"].astimezone(tz)
        start, end = r["appointment_start"], r["appointment_end"]
        appointment = ""
        if start:
            start = start.astimezone(tz)
            end = end.astimezone(tz) if end else None
            if end is None:
                shown_end = ""
            elif end.date() == start.date():
                shown_end = f"{end:%H:%M}"
            else:
                shown_end = f"{end:%Y-%m-%d %H:%M}"
            appointment = f"{start:%Y-%m-%d %H:%M}–{shown_end}"
        technician = technicians[r["technician_id"]].name if r["technician_id"] else None
        row = {
            "pk": pk,
            "url": detail_url.format(pk),
            "number": f"WO-{created.year}-{pk:06d}",
            "status": r["status"],
            "status_label": status_labels.get(r["status"], r["status"]),
            "priority": r["priority"],
            "priority_label": priority_labels.get(r["priority"], str(r["priority"])),
            "service_type": service_types[r["service_type_id"]].name,
            "customer": r["customer__name"],
            "address": r["address"],
            "technician": technician,
            "created": f"{created:%Y-%m-%d %H:%M}",
            "appointment": appointment,
            "sla": states,
        }
        shown = {
            **row,
            # Generated values (number, status code, dates) need no escaping; text does
            # (the labels and service type names are escaped once for the page).
            "status_label": escaped_labels.get(r["status"]) or html_escape(row["status_label"]),
            "priority_label": escaped_labels.get(r["priority"]) or html_escape(row["priority_label"]),
            "service_type": escaped_types.get(r["service_type_id"]) or html_escape(row["service_type"]),
            "customer": html_escape(row["customer"]),
            "address": html_escape(row["address"]),
            "technician": unassigned if technician is None else html_escape(technician),
            "sla": target_states_html(states),
        }
        row["html"] = mark_safe(QUEUE_ROW_HTML.format(**shown))  # every value escaped above
        rows.append(row)
    return rows


class _Exact(Exception):
    """A count under the cap: used, not kept."""


def _matching_count(qs, *, user, params) -> int:
    """How many orders match, up to ``COUNT_CAP + 1`` (at most that many index entries read)."""

    def count():
        matched = qs.order_by().values("pk")[: COUNT_CAP + 1].count()
        if matched <= COUNT_CAP:
            raise _Exact(matched)
        return matched

    filters = tuple(sorted((k, tuple(params.getlist(k))) for k in params if k not in ("cursor", "sort")))
    try:
        return SATURATED_COUNTS.get((workorder_scope_key(user), filters), count)
    except _Exact as exact:
        return exact.args[0]


FILTER_HTML = '\n    <div>\n      <label for="{id}">{label}</label>\n      {html}\n      {errors}\n    </div>'
NUMBER_FILTER_HTML = (
    '<div>\n      <label for="{id}">{label}</label>\n      <input type="search" name="{name}" id="{id}" '
    'value="{value}" placeholder="WO-2026-000123">\n      {errors}\n    </div>'
)
SORT_HTML = (
    '\n    <div>\n      <label for="id_sort">{label}</label>\n      <select name="sort" id="id_sort">\n        '
    "{options}\n      </select>\n    </div>"
)


def _filters_html(form, controls, sort) -> str:
    """The filter form's controls (the number, each filter, the sort order), escaped, as the
    queue shows them: built here rather than field by field in the template."""
    number = form["number"]
    value = number.value()
    parts = [
        NUMBER_FILTER_HTML.format(
            id=conditional_escape(number.id_for_label),
            label=html_escape(_("Work-order number")),
            name=conditional_escape(number.html_name),
            value=conditional_escape("" if value is None else value),
            errors=number.errors or "",
        )
    ]
    for control in controls:
        if control["name"] != "number":
            parts.append(
                FILTER_HTML.format(
                    id=conditional_escape(control["id"]),
                    label=conditional_escape(control["label"]),
                    html=control["html"],  # built escaped (filters.filter_controls)
                    errors=control["errors"] or "",
                )
            )
    options = "".join(
        f'<option value="{html_escape(key)}"{" selected" if key == sort else ""}>{html_escape(str(label))}</option>'
        for key, label in SORT_CHOICES
    )
    parts.append(SORT_HTML.format(label=html_escape(_("Sort")), options=options))
    return "".join(parts)


@login_required
def workorder_list_page(request):
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)

    errors = []
    params = request.GET
    filterset = WorkOrderFilter(params or None, queryset=workorder_visible_to(user), request=request)
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
        rows_qs = workorder_queue_rows(qs)
        cursor = params.get("cursor") or None
        try:
            page = keyset_page(rows_qs, sort=sort, cursor=cursor, size=settings.STAFF_PAGE_SIZE)
        except InvalidInput:
            errors.append(_("That page link is no longer valid; showing the first page."))
            page = keyset_page(rows_qs, sort=sort, size=settings.STAFF_PAGE_SIZE)
        matched = _matching_count(qs, user=user, params=params)
        shown_count = f"{COUNT_CAP:,}+" if matched > COUNT_CAP else f"{matched:,}"

    rows = _queue_rows(page.items) if page else []
    filter_fields = filter_controls(filterset.form)
    context = {
        "filter": filterset,
        "form": filterset.form,
        "filter_fields": filter_fields,
        "filters_html": mark_safe(_filters_html(filterset.form, filter_fields, sort)),  # escaped there
        "page": page,
        "rows": rows,
        "rows_html": mark_safe("\n".join(row["html"] for row in rows)),  # each row built escaped
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


# One entry of the history. Rendered here, not in the template: a detail page with 50
# events spent most of its time on the template's per-variable work. Values are escaped.
EVENT_HTML = (
    '<li>\n      <time datetime="{iso}">{when}</time>\n      · <strong>{action}</strong>\n      · {states}\n'
    '      <br><span class="help">{who}{extra}</span>{note}\n    </li>'
)


def _history(events: list[dict]) -> None:
    """Label each event (from ``selectors.workorder_history``) and give it its HTML
    (``event["html"]``), formatted once per page."""
    status_labels = {value: str(label) for value, label in Status.choices}
    role_labels = {key: str(label) for key, label in R.LABELS.items()}
    action_labels = {key: str(t.label) for key, t in TRANSITIONS.items()}
    action_labels.update((key, str(label)) for key, label in EVENT_LABELS.items())
    position = html_escape(_("position"))
    tz = timezone.get_current_timezone()
    for event in events:
        event["action_label"] = action_label = action_labels.get(event["action"], event["action"])
        event["role_label"] = role_label = role_labels.get(event["actor_role"], event["actor_role"])
        to_status, from_status = event["to_status"], event["from_status"]
        states = html_escape(status_labels.get(to_status, to_status))
        if from_status:
            states = f"{html_escape(status_labels.get(from_status, from_status))} → {states}"
        who = ""
        if event["actor_id"]:
            # As User.get_full_name(), else the username.
            full_name = f"{event['actor__first_name']} {event['actor__last_name']}".strip()
            who = html_escape(full_name or event["actor__username"])
        if role_label:
            who += f" ({html_escape(role_label)})"
        extra = ""
        data = event["data"]
        technician_name = data.get("technician_name") if isinstance(data, dict) else None
        if technician_name:
            text = _("technician: %(name)s") % {"name": technician_name}
            extra += f"\n      · {html_escape(text)}"
        if event["action"] == "escalate" and isinstance(data, dict) and data.get("target") in SlaTarget.values:
            # Which target, how much of it was used, and the priority it raised.
            text = _("%(target)s at %(percent)s%%") % {"target": SlaTarget(data["target"]).label,
                                                      "percent": data.get("percent")}
            extra += f"\n      · {html_escape(text)}"
            priority = data.get("priority")  # [before, after]
            if isinstance(priority, list) and len(priority) == 2 and priority[0] != priority[1] \
                    and priority[1] in WorkOrder.Priority.values:
                text = _("priority raised to %(priority)s") % {"priority": WorkOrder.Priority(priority[1]).label}
                extra += f"\n      · {html_escape(text)}"
        if event["latitude"] is not None:
            extra += (
                f"\n      · {position} {html_escape(str(formats.localize(event['latitude'])))}, "
                f"{html_escape(str(formats.localize(event['longitude'])))}"
            )
        created = event["created_at"].astimezone(tz)
        note = event["note"]
        event["html"] = mark_safe(  # every value escaped
            EVENT_HTML.format(
                iso=created.isoformat(),
                when=f"{created:%Y-%m-%d %H:%M:%S}",
                action=html_escape(str(action_label)),
                states=states,
                who=who,
                extra=extra,
                note=f"<br>{linebreaksbr(note, autoescape=True)}" if note else "",
            )
        )


@login_required
def workorder_detail_page(request, pk: int):
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)
    work_order = workorder_detail(user=user, pk=pk)
    if work_order is None:
        raise Http404(_("No such work order."))

    photos = []
    for attachment in work_order.attachment_list:
        if attachment.kind == Attachment.Kind.CUSTOMER_PHOTO:
            attachment.url = _attachment_url(attachment.pk)
            photos.append(attachment)

    events = work_order.history
    _history(events)

    actions = _actions_for(user, work_order.status)
    technicians = []
    if any(t.needs_technician for t in actions):
        technicians = list(
            Technician.objects.filter(active=True).select_related("user", "partner_company").order_by("user__username")
        )
    context = {
        "wo": work_order,
        "events": events,
        "history_html": mark_safe("\n".join(event["html"] for event in events)),  # each built escaped
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
