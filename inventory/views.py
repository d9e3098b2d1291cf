"""/staff/stock/: where parts are. Office roles see every location; a technician sees their van."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import roles as R
from core.errors import NotFound

from . import selectors


@login_required
@require_GET
def location_list(request):
    locations = list(selectors.stock_locations_visible_to(request.user))
    if not locations and not R.has_role(request.user, *R.STAFF_ROLES):
        raise PermissionDenied
    return render(request, "inventory/locations.html", {
        "locations": locations,
        "can_change": R.has_role(request.user, R.MANAGER) and request.user.is_staff,
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
