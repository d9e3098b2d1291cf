"""Triage on the staff pages: the panel on a new order's page and its "accept" button.

The phone-intake page asks the API (``triage/api.py``) as the agent types
(``static/triage/triage.js``); the new order's page renders the panel with the page
(``detail_part``, registered in ``TriageConfig.ready``).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import ApplicationError, InvalidInput, NotFound
from core.views import app_error_response
from core.permissions import may
from workorders.selectors import workorder_etag
from workorders.services import workorder_update

from .selectors import likely_duplicates, suggest


def detail_part(*, user, detail) -> dict | None:
    """The suggestion panel for a new order's page (office roles only)."""
    if not may(user, "triage.suggest"):
        return None
    row = detail.row
    suggestion = suggest(row["description"])
    duplicates = likely_duplicates(user=user, description=row["description"], customer_id=row["customer__id"],
                                   site_id=row["site"], exclude_id=row["id"])
    for duplicate in duplicates:
        duplicate["url"] = reverse("staff:detail", args=[duplicate["id"]])
    priority = suggestion["priority"]
    service_type = suggestion["service_type"]
    return {
        "template": "triage/_detail_panel.html",
        "suggestion": suggestion,
        "duplicates": duplicates,
        "accept_url": reverse("triage:accept", args=[row["id"]]),
        "version": workorder_etag(row["updated_at"]),
        "priority_differs": priority is not None and priority["value"] != row["priority"],
        "type_differs": service_type is not None and service_type["id"] != row["service_type_id"],
    }


@login_required
@require_POST
def accept(request, pk: int):
    """Apply the suggested priority to a new order (the agent pressed "Accept"), through
    ``workorder_update``: its ``update`` event keeps the suggestion that was accepted."""
    if not may(request.user, "triage.suggest"):
        return app_error_response(request, NotFound(_("No such work order.")))
    try:
        priority = int(request.POST.get("priority", ""))
        model_version = int(request.POST.get("model_version", ""))
    except ValueError:
        return app_error_response(request, InvalidInput(_("The suggestion could not be read; reload the page.")))
    try:
        workorder_update(
            work_order_id=pk, actor=request.user, changes={"priority": priority},
            if_match=[request.POST.get("version", "")],
            event_data={"triage": {"version": model_version, "priority": priority, "accepted": True}},
        )
    except ApplicationError as exc:
        return app_error_response(request, exc)
    return redirect("staff:detail", pk=pk)
