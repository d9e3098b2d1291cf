"""The staff's customer search, customer page and equipment page (agents, dispatchers, managers).

Anyone else who is logged in (technicians, partners' technicians, users without a role) gets
404, so that nobody learns which customers exist; anonymous visitors log in first. Thin: parse,
call a selector, render.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import InvalidInput
from core.views import office_or_404
from customers.models import Customer
from customers.selectors import customer_search
from dispatch.views import tile_source
from workorders.search import MAX_QUERY, search_terms

from . import selectors

MATCH_LABELS = {
    "code": gettext_lazy("customer code"), "phone": gettext_lazy("phone number"), "name": gettext_lazy("name"),
    "address": gettext_lazy("address"), "serial": gettext_lazy("equipment serial"),
}


def _tile_context() -> dict:
    # The dispatch board's map settings: one tile server for every map of the site.
    return {
        "tile_url": settings.DISPATCH_TILE_URL,
        "tile_attribution": settings.DISPATCH_TILE_ATTRIBUTION,
        "map_center": list(settings.DISPATCH_MAP_CENTER),
        "map_words": {"zoom_in": _("Zoom in"), "zoom_out": _("Zoom out")},
    }


def _with_tiles(response):
    """Allow the map's tile server as an image source on this response, as the dispatch board does
    (the site's policy allows images from itself only)."""
    tiles = tile_source(settings.DISPATCH_TILE_URL)
    if tiles:
        response._csp_update = {"img-src": [tiles]}
    return response


@office_or_404
def search(request):
    """``/staff/customers/?q=``: find a customer by name, phone number (typed any way), customer
    code, address fragment or equipment serial."""
    query = request.GET.get("q", "")
    error, rows, text = None, [], ""
    try:
        terms = search_terms(query)
    except InvalidInput as exc:
        error = exc.message
    else:
        text = terms.text
        if text:
            rows = customer_search(text=text, phone=terms.phone, digits=terms.digits)
            for row in rows:
                row["tier_label"] = Customer.Tier(row["tier"]).label
                row["matched_labels"] = [MATCH_LABELS[kind] for kind in row["matched"]]
    context = {"query": text if error is None else query[:MAX_QUERY], "error": error, "rows": rows,
               "searched": bool(text), "max_query": MAX_QUERY}
    return render(request, "customer360/search.html", context, status=400 if error else 200)


@office_or_404
def customer(request, pk: int):
    """``/staff/customers/<id>/``: the customer's tier, contacts, sites on a map, equipment, every
    work order (open first, with its SLA state), surveys, call-backs, escalations, parts and charges,
    and a timeline of all of it."""
    page = selectors.customer_page(user=request.user, pk=pk)
    if page is None:
        raise Http404(_("No such customer."))
    return _with_tiles(render(request, "customer360/customer.html", {"page": page, "c": page.customer,
                                                                     **_tile_context()}))


@office_or_404
def equipment(request, pk: int):
    """``/staff/equipment/<id>/``: every visit to a piece of equipment: what was done, parts, photos,
    technician, and which orders were repeat failures."""
    page = selectors.equipment_page(pk=pk)
    if page is None:
        raise Http404(_("No such equipment."))
    return render(request, "customer360/equipment.html", {"page": page, "e": page.equipment,
                                                          "repeat_days": settings.REPEAT_FAILURE_DAYS})
