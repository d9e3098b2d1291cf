"""Staff pages: the work-order queue, the detail page and its transition buttons.

Thin views: parse the request, call a selector or ``services.workorder_transition``,
render. Every page issues a fixed number of SQL queries however many work orders
or events there are; the queue never counts the whole table.
"""

from html import escape as html_escape
from types import SimpleNamespace

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from catalog.custom_fields import custom_values_shown
from catalog.selectors import custom_fields_of, service_type_refs
from core import roles as R
from core.errors import ApplicationError, InvalidInput, NotFound
from core.pagination import SORTS, keyset_page, keyset_page_compiled
from contracts.selectors import contract_line, contract_visits_used
from core.refcache import VersionedCache
from core.permissions import may
from customers.models import Customer
from sla.models import SlaTarget

from ..filters import WorkOrderFilter, filter_controls, filters_key
from ..lifecycle import OTHER_EVENT_LABELS, TRANSITIONS, Status, available_actions, flow_for, transitions_for
from ..models import Attachment, WorkOrder
from ..search import MAX_QUERY, staff_search
from ..selectors import (
    QUEUE_ROW_FIELDS,
    TECHNICIAN_CHOICES,
    technician_refs,
    workorder_detail,
    workorder_is_visible_to,
    workorder_new_order_parts,
    workorder_queue_rows,
    workorder_scope_key,
    workorder_visible_to,
)
from ..services import workorder_arrive, workorder_transition
from ..sla import target_states_html, target_states_html_rows, target_states_rows

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


# Filters a field role does not need (they only see their own or their company's jobs).
FIELD_HIDDEN_FILTERS = ("technician", "unassigned")
# The date filters show an example of what to type.
DATE_PLACEHOLDERS = dict.fromkeys(("created_after", "created_before", "due_after", "due_before"), "2026-01-31")


def _has_staff_role(user) -> bool:
    return may(user, "workorders.open_staff_pages")


def _is_field(user) -> bool:
    """A technician's view of the staff pages (fewer filters, no customer pages): a staff member
    who is not in the office (``_has_staff_role`` lets only staff in)."""
    return not may(user, "core.office_pages")


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


# One row of the queue (_queue_rows): rendered in the view, not cell by cell in a template.
# The figure it buys (issue 13's stock-tools track, docs/operations.md "Stock tools"): a page's
# 50 rows cost 0.29 ms of CPU written here, 0.90 ms as a Jinja2 partial and 2.90 ms as a Django
# template, on a staff-list page of about 3 ms (+20 % and +87 %: over the 10 % a stock tool may cost):
#   <tr><td><a href="{detail}">{number}</a></td><td><span class="badge status-{status}">{status label}</span></td>
#   <td class="prio-{priority}">{priority label}</td><td>{service type}</td><td>{customer}</td>
#   <td>{address}</td><td>{technician or "Unassigned"}</td><td>{created}</td><td>{appointment}</td>
#   <td>{SLA badges}</td></tr>
# (one line, no spaces between the cells). Every value is escaped.


# What the queue shows the same on every page, per language: labels, translated and
# escaped once per process rather than once per row or per request (each translation
# lookup reads the request's language from thread- and task-local storage).
_QUEUE_TEXTS: dict = {}


def _queue_texts() -> dict:
    language = get_language()
    texts = _QUEUE_TEXTS.get(language)
    if texts is None:
        texts = _QUEUE_TEXTS[language] = {
            "status": {value: html_escape(str(label)) for value, label in Status.choices},
            "priority": {value: html_escape(str(label)) for value, label in WorkOrder.Priority.choices},
            "unassigned": format_html('<span class="help">{}</span>', _("Unassigned")),
        }
    return texts


def _detail_url_format() -> str:
    """The detail page's address with ``{}`` for the id (for the urlconf, prefix and language in use)."""
    key = (get_urlconf(), get_script_prefix(), get_language())
    found = _DETAIL_URLS.get(key)
    if found is None:
        if len(_DETAIL_URLS) > 16:
            _DETAIL_URLS.clear()
        found = _DETAIL_URLS[key] = reverse("staff:detail", args=[999999999]).replace("999999999", "{}")
    return found


_DETAIL_URLS: dict = {}


def _minute(value) -> str:
    """A local datetime as "2026-01-31 09:05" (as ``f"{value:%Y-%m-%d %H:%M}"``, at a third of its cost)."""
    return value.isoformat(" ", "minutes")[:16]


def _customer_url_format() -> str:
    """The customer page's address (customer360) with ``{}`` for the id."""
    key = ("customer", get_urlconf(), get_script_prefix(), get_language())
    found = _DETAIL_URLS.get(key)
    if found is None:
        if len(_DETAIL_URLS) > 16:
            _DETAIL_URLS.clear()
        found = _DETAIL_URLS[key] = reverse("c360:customer", args=[999999999]).replace("999999999", "{}")
    return found


def _queue_rows(items, *, customer_links: bool = False) -> list[str]:
    """Each row of the queue as its HTML (above), every value escaped (the page marks the
    rows safe once, joined). With ``customer_links`` (office roles) the customer's name links to
    the customer page.

    What repeats from row to row (labels, service type and technician names, the SLA
    badges' labels) is looked up and escaped once for the page.
    """
    texts = _queue_texts()
    status_labels, priority_labels = texts["status"], texts["priority"]
    tz = timezone.get_current_timezone()
    detail_before, detail_after = _detail_url_format().split("{}")
    customer_before, customer_after = _customer_url_format().split("{}") if customer_links else ("", "")
    type_refs = service_type_refs({r["service_type_id"] for r in items})
    technicians = technician_refs({r["technician_id"] for r in items})
    type_names = {pk: html_escape(ref["name"]) for pk, ref in type_refs.items()}
    technician_names = {None: texts["unassigned"]}
    sla_html = target_states_html_rows(target_states_rows(items))
    rows = []
    for r, sla in zip(items, sla_html, strict=True):
        pk = r["id"]
        created = r["created_at"].astimezone(tz)
        start = r["appointment_start"]
        appointment = ""
        if start:
            start = _minute(start.astimezone(tz))
            end = r["appointment_end"]
            if end is None:
                shown_end = ""
            else:
                end = _minute(end.astimezone(tz))
                shown_end = end[11:] if end[:10] == start[:10] else end
            appointment = f"{start}–{shown_end}"
        technician_id = r["technician_id"]
        technician = technician_names.get(technician_id)
        if technician is None:
            technician = technician_names[technician_id] = html_escape(technicians[technician_id].name)
        status, priority = r["status"], r["priority"]
        status_label = status_labels[status] if status in status_labels else html_escape(status)
        priority_label = priority_labels[priority] if priority in priority_labels else html_escape(str(priority))
        customer = html_escape(r["customer__name"])
        if customer_links:
            customer = f'<a href="{customer_before}{r["customer_id"]}{customer_after}">{customer}</a>'
        # Every value escaped: text here, labels and names above; the rest is generated.
        rows.append(
            f'<tr><td><a href="{detail_before}{pk}{detail_after}">WO-{created.year}-{pk:06d}</a></td>'
            f'<td><span class="badge status-{status}">{status_label}</span></td>'
            f'<td class="prio-{priority}">{priority_label}</td>'
            f"<td>{type_names[r['service_type_id']]}</td><td>{customer}</td>"
            f"<td>{html_escape(r['address'])}</td><td>{technician}</td>"
            f"<td>{_minute(created)}</td><td>{appointment}</td><td>{sla}</td></tr>"
        )
    return rows


class _Exact(Exception):
    """A count under the cap: used, not kept."""


def _matching_count(build, *, user, params) -> int:
    """How many orders match ``build()`` (the filtered queryset, built only when counted),
    up to ``COUNT_CAP + 1`` (at most that many index entries read)."""

    def count():
        matched = build().order_by().values("pk")[: COUNT_CAP + 1].count()
        if matched <= COUNT_CAP:
            raise _Exact(matched)
        return matched

    filters = tuple(sorted((k, tuple(params.getlist(k))) for k in params if k not in ("cursor", "sort")))
    try:
        return SATURATED_COUNTS.get((workorder_scope_key(user), filters), count)
    except _Exact as exact:
        return exact.args[0]


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
        # The page's SQL is kept per process for each visibility scope and set of filters
        # (core.pagination.keyset_page_compiled): the queryset is built only the first time.
        filters = filters_key(filterset.form) if filterset.is_bound else ()
        key = None if filters is None else ("staff-queue", workorder_scope_key(user), filters)

        def rows_qs():
            return workorder_queue_rows(filterset.qs)

        def page_after(cursor):
            if key is None:
                return keyset_page(rows_qs(), sort=sort, cursor=cursor, size=settings.STAFF_PAGE_SIZE)
            return keyset_page_compiled(key, rows_qs, sort=sort, cursor=cursor, size=settings.STAFF_PAGE_SIZE)

        try:
            page = page_after(params.get("cursor") or None)
        except InvalidInput:
            errors.append(_("That page link is no longer valid; showing the first page."))
            page = page_after(None)
        matched = _matching_count(lambda: filterset.qs, user=user, params=params)
        shown_count = f"{COUNT_CAP:,}+" if matched > COUNT_CAP else f"{matched:,}"

    rows = _queue_rows(page.items, customer_links=not field_role) if page else []
    filter_fields = filter_controls(filterset.form, placeholders=DATE_PLACEHOLDERS)
    context = {
        "filter": filterset,
        "form": filterset.form,
        "filter_fields": filter_fields,
        "page": page,
        "rows": rows,
        "rows_html": mark_safe("\n".join(rows)),  # each row built escaped
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


@login_required
def search_page(request):
    """``/staff/work-orders/search/?q=``: the search box of the staff pages (workorders/search.py)."""
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)
    query = request.GET.get("q", "")
    error = None
    try:
        found = staff_search(user=user, query=query, values=QUEUE_ROW_FIELDS)
    except InvalidInput as exc:
        found, error = None, exc.message
    office = may(user, "core.office_pages")
    context = {
        "query": found.query if found else query[:MAX_QUERY],
        "error": error,
        "found": found,
        "rows_html": mark_safe("\n".join(_queue_rows(found.orders, customer_links=office))) if found else "",  # each row escaped
        "customers": [{**c, "tier": Customer.Tier(c["tier"]).label} for c in found.customers] if found and office else [],
        "more_customers": bool(found and office and found.more_customers),
        "max_query": MAX_QUERY,
    }
    return render(request, "workorders/staff/search.html", context, status=400 if error else 200)


def _attachment_url(pk: int) -> str:
    try:
        return reverse("intake:attachment", args=[pk])
    except NoReverseMatch:
        return f"/attachments/{pk}/"


def _actions_for(user, status, service_type_id):
    """The transitions ``user`` may fire on an order in ``status`` of the service type (its flow)."""
    if user.is_superuser:
        return [t for t in transitions_for(service_type_id).values() if status in t.sources]
    return available_actions(status, R.roles_of(user), service_type_id)


def _local_input(value) -> str:
    """A datetime as a ``datetime-local`` input value, in the current time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""


# The detail page's labels in one language, translated and HTML-escaped once per process
# (a page with 50 events and four actions would otherwise translate ~100 of them).
_DETAIL_LABELS: dict[str, dict] = {}


def _detail_labels() -> dict:
    language = get_language()
    labels = _DETAIL_LABELS.get(language)
    if labels is None:
        actions = {key: str(t.label) for key, t in TRANSITIONS.items()}
        actions.update((key, str(label)) for key, label in OTHER_EVENT_LABELS.items())
        labels = {
            "status": {value: str(label) for value, label in Status.choices},
            "priority": {value: str(label) for value, label in WorkOrder.Priority.choices},
            "channel": {value: str(label) for value, label in WorkOrder.Channel.choices},
            "tier": {value: str(label) for value, label in Customer.Tier.choices},
            "role": {key: str(label) for key, label in R.LABELS.items()},
            "action": actions,
        }
        escaped = {name: {key: html_escape(text) for key, text in texts.items()} for name, texts in labels.items()}
        labels["escaped"] = escaped
        escaped.update(
            position=html_escape(_("position")),
            technician=html_escape(_("Technician")),
            appointment_start=html_escape(_("Appointment from")),
            appointment_end=html_escape(_("Appointment until")),
            reason=html_escape(_("Reason (required)")),
            note=html_escape(_("Note (optional)")),
        )
        labels["technician_named"] = _("technician: %(name)s")
        _DETAIL_LABELS[language] = labels
    return labels


# One entry of the history. Rendered here, not in the template: 50 events cost 0.29 ms of CPU
# written here, 0.55 ms as a Jinja2 partial, 2.02 ms as a Django template, on a detail page of
# about 3.2 ms (+8 % and +54 %; docs/operations.md "Stock tools": with the Django-template
# transition forms below the Jinja2 history made the page 28 % dearer). Values are escaped.
EVENT_HTML = (
    '<li>\n      <time datetime="{iso}">{when}</time>\n      · <strong>{action}</strong>\n      · {states}\n'
    '      <br><span class="help">{who}{extra}</span>{note}\n    </li>'
)


def _history(events: list[dict]) -> str:
    """Label each event (from ``selectors.workorder_history``), give it its HTML
    (``event["html"]``, escaped) and return the history's HTML, formatted once per page."""
    labels = _detail_labels()
    status_labels, role_labels, action_labels = labels["status"], labels["role"], labels["action"]
    escaped = labels["escaped"]
    escaped_status, escaped_role, escaped_action = escaped["status"], escaped["role"], escaped["action"]
    position, technician_named = escaped["position"], labels["technician_named"]
    tz = timezone.get_current_timezone()
    people: dict = {}  # (actor, role) -> who, escaped: the same few people act again and again
    for event in events:
        action, role = event["action"], event["actor_role"]
        event["action_label"] = action_labels.get(action, action)
        event["role_label"] = role_label = role_labels.get(role, role)
        to_status, from_status = event["to_status"], event["from_status"]
        states = escaped_status.get(to_status) or html_escape(to_status)
        if from_status:
            states = f"{escaped_status.get(from_status) or html_escape(from_status)} → {states}"
        who = people.get((event["actor_id"], role))
        if who is None:
            who = ""
            if event["actor_id"]:
                # As User.get_full_name(), else the username.
                full_name = f"{event['actor__first_name']} {event['actor__last_name']}".strip()
                who = html_escape(full_name or event["actor__username"])
            if role_label:
                who += f" ({escaped_role.get(role) or html_escape(role_label)})"
            people[(event["actor_id"], role)] = who
        extra = ""
        technician_name = event["technician_name"]
        if technician_name:
            extra += f"\n      · {html_escape(technician_named % {'name': technician_name})}"
        data = event["escalation"]
        if isinstance(data, dict) and data.get("target") in SlaTarget.values:
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
        iso = event["created_at"].astimezone(tz).isoformat()  # 2026-05-01T09:30:00[.123456]+08:00
        note = event["note"]
        if note:  # as the linebreaksbr filter: escaped, each line break a <br>
            note = "<br>" + html_escape(note).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
        event["html"] = EVENT_HTML.format(  # every value escaped
            iso=iso,
            when=f"{iso[:10]} {iso[11:19]}",
            action=escaped_action.get(action) or html_escape(action),
            states=states,
            who=who,
            extra=extra,
            note=note,
        )
    return mark_safe("\n".join(event["html"] for event in events))  # each built escaped


def _technician_options_html() -> str:
    """The options of the technician choice for assign and re-assign: every active technician
    by username, with their partner company, escaped. Built once per process from the
    technicians kept in memory (selectors.technician_refs), dropped with them."""

    def build():
        return "".join(
            f'<option value="{t.pk}">{html_escape(t.name)}'
            + (f" ({html_escape(t.partner_company_name)})" if t.partner_company_name else "")
            + "</option>"
            for t in sorted(technician_refs().values(), key=lambda t: (t.username, t.pk))
            if t.active
        )

    return TECHNICIAN_CHOICES.get("assign_options_html", build)


# One transition form. Built here, not in the template: four forms, and a choice of
# every active technician (hundreds) for assign and re-assign. The figure: 0.18 ms a page here,
# 0.57 ms as a Django template (+12 % of the detail page, docs/operations.md "Stock tools").
# Values are escaped.
ACTION_HTML = (
    '\n    <form method="post" action="{url}" class="transition"{geo}{enctype}>\n'
    '      <input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">\n'
    '      <input type="hidden" name="action" value="{action}">\n'
    '      <input type="hidden" name="latitude" value="">\n'
    '      <input type="hidden" name="longitude" value="">\n'
    "{technician}{photos}"
    '      <label for="note-{action}">{note_label}</label>\n'
    '      <textarea name="note" id="note-{action}" rows="2" maxlength="2000"{required}></textarea>\n'
    '      <p><button type="submit" class="{button}">{label}</button></p>\n'
    "    </form>"
)
ACTION_TECHNICIAN_HTML = (
    '      <label for="tech-{action}">{technician_label}</label>\n'
    '      <select name="technician" id="tech-{action}" required>\n'
    '        <option value="">—</option>\n'
    "        {options}\n"
    "      </select>\n"
    '      <div class="grid grid-2">\n'
    '        <div><label for="start-{action}">{start_label}</label>\n'
    '          <input type="datetime-local" name="appointment_start" id="start-{action}" value="{start}"></div>\n'
    '        <div><label for="end-{action}">{end_label}</label>\n'
    '          <input type="datetime-local" name="appointment_end" id="end-{action}" value="{end}"></div>\n'
    "      </div>\n"
)
# Arrive on a type whose flow asks for photos before the work: the photos, taken with the step.
ACTION_PHOTOS_HTML = (
    '      <label for="photos-{action}">{photos_label}</label>\n'
    '      <input type="file" name="photos" id="photos-{action}" accept="image/jpeg,image/png,image/webp" '
    'multiple required>\n'
)
MULTIPART = ' enctype="multipart/form-data"'


def _actions_html(request, detail, actions, *, field_role: bool) -> str:
    """The forms of the transitions ``actions`` on the order, escaped."""
    if not actions:
        return ""
    labels = _detail_labels()["escaped"]
    row = detail.row
    url = reverse("staff:transition", args=[detail.pk])
    csrf = html_escape(get_token(request))
    options = ""
    if any(t.needs_technician for t in actions):
        options = _technician_options_html()
        if row["technician_id"] is not None:  # re-assign: to someone else
            current = f'<option value="{row["technician_id"]}">'
            options = options.replace(current, f'{current[:-1]} disabled>', 1)
    start = _local_input(row["appointment_start"] or row["preferred_start"])
    end = _local_input(row["appointment_end"] or row["preferred_end"])
    forms_html = []
    for t in actions:
        action = html_escape(t.action)
        technician = photos = ""
        if t.needs_technician:
            technician = ACTION_TECHNICIAN_HTML.format(
                action=action, technician_label=labels["technician"], options=options,
                start_label=labels["appointment_start"], start=start, end_label=labels["appointment_end"], end=end,
            )
        if t.action == "arrive":
            # The photos the service type's flow asks for before the work (kept per process: no query).
            wanted = flow_for(row["service_type_id"]).before_photos
            if wanted:
                photos = ACTION_PHOTOS_HTML.format(action=action, photos_label=html_escape(ngettext(
                    "Photo before the work (at least %(n)s, required)",
                    "Photos before the work (at least %(n)s, required)", wanted) % {"n": wanted}))
        forms_html.append(ACTION_HTML.format(
            url=url, geo=" data-geo" if field_role else "", enctype=MULTIPART if photos else "", csrf=csrf,
            action=action, technician=technician, photos=photos,
            note_label=labels["reason"] if t.reason_required else labels["note"],
            required=" required" if t.reason_required else "",
            button="danger" if t.action in ("cancel", "reject") else "primary",
            label=labels["action"].get(t.action) or html_escape(str(t.label)),
        ))
    return "".join(forms_html)


def _sla_html(states) -> str:
    """The order's SLA targets as workorders/_sla.html shows them, deadlines in the titles, escaped."""
    return f'<span class="sla-targets">{target_states_html(states, with_due=True)}</span>' if states else ""


def _coverage_line(row) -> str:
    """What covered the order when it was created, with the contract's visits left now
    (one query, only for an order a contract covers)."""
    if row["coverage"] == "contract" and row["contract_id"] is not None:
        included = row["contract__included_visits"]
        left = None if included is None else max(included - contract_visits_used(row["contract_id"]), 0)
        text = contract_line(SimpleNamespace(number=row["contract__number"], covered_percent=row["coverage_percent"]),
                             left, included)
        return text
    if row["coverage"] == "warranty":
        return _("Under warranty until %(day)s") % {
            "day": formats.date_format(row["coverage_until"], "SHORT_DATE_FORMAT")}
    return ""


def _shown(detail) -> dict:
    """What the detail page shows of the order, its customer, site, equipment and technician,
    formatted (dates in the current time zone); the template escapes it."""
    labels = _detail_labels()
    row = detail.row
    tz = timezone.get_current_timezone()

    def when(value):
        return f"{value.astimezone(tz):%Y-%m-%d %H:%M}" if value else ""

    status, priority = row["status"], row["priority"]
    site = equipment = None
    if row["site"] is not None:
        site = {"name": row["site__label"] or row["site__address"], "city": row["site__city"],
                "latitude": row["site__latitude"], "longitude": row["site__longitude"]}
    if row["equipment"] is not None:
        warranty_end = row["equipment__warranty_end"]
        equipment = {
            "id": row["equipment"],
            "brand": row["equipment__brand"], "model": row["equipment__model"], "serial": row["equipment__serial"],
            "warranty_end": f"{warranty_end:%Y-%m-%d}" if warranty_end else "",
            "under_warranty": bool(warranty_end and warranty_end >= timezone.localdate()),
        }
    return {
        "coverage": _coverage_line(row),
        "pk": detail.pk,
        "number": detail.number,
        "status": status,
        "status_label": labels["status"].get(status, status),
        "priority": priority,
        "priority_label": labels["priority"].get(priority, priority),
        "channel_label": labels["channel"].get(row["channel"], row["channel"]),
        "service_type": detail.service_type.name,
        "description": row["description"],
        # The service type's intake custom fields as asked (labels from the process's copy: no query).
        "custom": custom_values_shown(custom_fields_of(row["service_type_id"]), row["custom"]),
        "preferred_start": when(row["preferred_start"]),
        "preferred_end": when(row["preferred_end"]),
        "created": when(row["created_at"]),
        "updated": when(row["updated_at"]),
        "sla_html": mark_safe(_sla_html(target_states_rows([row])[0])),  # escaped there
        "assigned": when(row["assigned_at"]),
        "accepted": when(row["accepted_at"]),
        "arrived": when(row["arrived_at"]),
        "resolved": when(row["resolved_at"]),
        "closed": when(row["closed_at"]),
        "customer": {"id": row["customer__id"], "name": row["customer__name"], "phone": row["customer__phone"],
                     "tier": labels["tier"].get(row["customer__tier"], row["customer__tier"])},
        "contact_name": row["contact_name"],
        "contact_phone": row["contact_phone"],
        "contact_email": row["contact_email"],
        "address": row["address"],
        "site": site,
        "equipment": equipment,
        "technician": detail.technician,
        "appointment_start": when(row["appointment_start"]),
        "appointment_end": when(row["appointment_end"]),
    }


@login_required
def workorder_detail_page(request, pk: int):
    user = request.user
    if not _has_staff_role(user):
        return _no_role(request)
    detail = workorder_detail(user=user, pk=pk)
    if detail is None:
        raise Http404(_("No such work order."))

    photo_url = None
    photos = []
    for attachment in detail.attachments:
        if attachment["kind"] == Attachment.Kind.CUSTOMER_PHOTO:
            if photo_url is None:
                photo_url = _attachment_url(999999999).replace("999999999", "{}")
            photos.append({"pk": attachment["id"], "url": photo_url.format(attachment["id"])})

    events = detail.history
    history_html = _history(events)

    field_role = _is_field(user)
    actions = _actions_for(user, detail.row["status"], detail.row["service_type_id"])
    context = {
        "wo": _shown(detail),
        "events": events,
        "history_html": history_html,
        "photos": photos,
        "actions": actions,
        "actions_html": mark_safe(_actions_html(request, detail, actions, field_role=field_role)),  # escaped there
        "field_role": field_role,
    }
    if detail.row["status"] == Status.NEW:  # what other apps add (selectors.register_new_order_part)
        context["new_order_parts"] = workorder_new_order_parts(user=user, detail=detail)
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
    photos = request.FILES.getlist("photos")
    try:
        if photos:
            # Arrive with the photos before the work: photos and step in one transaction
            # (a refused step keeps none). No other step takes photos.
            if data["action"] != "arrive":
                raise InvalidInput(_("Only arrive takes photos; send %(action)s without them.")
                                   % {"action": data["action"]})
            work_order = workorder_arrive(
                work_order_id=pk, actor=user, photos=photos, note=data["note"],
                latitude=data["latitude"] or None, longitude=data["longitude"] or None,
            )
        else:
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
