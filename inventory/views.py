"""/staff/stock/: where parts are. Office roles see every location; a technician sees their van.

/staff/stock/requests/ (part requests to approve, reject and ship) and /staff/stock/reorder/ (low
stock): managers and storekeepers."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError, NotFound
from core.permissions import may

from . import reorder, requests, selectors
from .models import PartRequest, StockLocation


@login_required
@require_GET
def location_list(request):
    locations = list(selectors.stock_locations_visible_to(request.user))
    if not locations and not may(request.user, "inventory.open_stock_pages"):
        raise PermissionDenied
    return render(request, "inventory/locations.html", {
        "locations": locations,
        "can_change": may(request.user, "inventory.change_locations"),
    })


@login_required
@require_GET
def location_detail(request, pk: int):
    try:
        location = selectors.stock_location_for(location_id=pk, user=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from None
    search = request.GET.get("q", "")[:40]
    before = request.GET.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    moves = selectors.stock_moves_at(location.pk, before_id=before_id)
    return render(request, "inventory/location.html", {
        "location": location,
        "levels": selectors.stock_on_hand_at(location.pk, search=search, limit=500),
        "q": search,
        "moves": moves,
        "older": moves[-1].pk if len(moves) == selectors.LEDGER_PAGE else None,
    })


# --- part requests and the reorder list (managers and storekeepers) --------------------------


def _handler_required(view):
    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not may(request.user, "inventory.handle_part_requests"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@_handler_required
@require_GET
def request_list(request):
    status = request.GET.get("status", "requested")
    if status not in PartRequest.Status.values and status != "all":
        status = "requested"
    rows = requests.part_requests_visible_to(request.user).prefetch_related("lines__part")
    if status != "all":
        rows = rows.filter(status=status)
    return render(request, "inventory/requests.html", {
        "requests": list(rows[:200]),
        "status": status,
        "statuses": PartRequest.Status.choices,
        "sources": StockLocation.objects.exclude(kind=StockLocation.Kind.VAN).order_by("name"),
    })


@require_POST
@_handler_required
def request_action(request, pk: int, action: str):
    try:
        if action == "approve":
            requests.part_request_approve(request_id=pk, actor=request.user, source_id=request.POST.get("source", ""))
            messages.success(request, _("Request %(id)s approved.") % {"id": pk})
        elif action == "reject":
            requests.part_request_reject(request_id=pk, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Request %(id)s rejected.") % {"id": pk})
        elif action == "ship":
            requests.part_request_ship(request_id=pk, actor=request.user)
            messages.success(request, _("Request %(id)s shipped.") % {"id": pk})
        else:
            raise Http404
    except NotFound as exc:
        raise Http404(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("stock:requests") + "?status=" + request.POST.get("back", "requested")[:10])


@_handler_required
@require_GET
def reorder_list(request):
    return render(request, "inventory/reorder.html", {"rows": reorder.reorder_list(),
                                                      "usage_days": reorder.REORDER_USAGE_DAYS,
                                                      "cover_days": reorder.REORDER_COVER_DAYS})
