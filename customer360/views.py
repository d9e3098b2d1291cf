"""The staff's customer search, customer page and equipment page (agents, dispatchers, managers).

Anyone else who is logged in (technicians, partners' technicians, users without a role) gets
404, so that nobody learns which customers exist; anonymous visitors log in first. Thin: parse,
call a selector, render.
"""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.selectors import customer_contracts
from core.errors import InvalidInput
from core.views import office_or_404
from customers.models import Customer, Site
from customers.selectors import customer_search
from dispatch.views import tile_source
from workorders.search import MAX_QUERY, search_terms

from . import selectors
from .labels import labels_pdf

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
    contracts = customer_contracts(customer_id=pk)
    today = timezone.localdate()
    for contract in contracts:
        contract.running = contract.runs_on(today)
        contract.visits_left = (None if contract.included_visits is None
                                else max(contract.included_visits - contract.visits_used, 0))
    return _with_tiles(render(request, "customer360/customer.html", {"page": page, "c": page.customer,
                                                                     "contracts": contracts, **_tile_context()}))


@office_or_404
def equipment(request, pk: int):
    """``/staff/equipment/<id>/``: every visit to a piece of equipment: what was done, parts, photos,
    technician, and which orders were repeat failures."""
    page = selectors.equipment_page(pk=pk)
    if page is None:
        raise Http404(_("No such equipment."))
    return render(request, "customer360/equipment.html", {"page": page, "e": page.equipment,
                                                          "repeat_days": settings.REPEAT_FAILURE_DAYS})


@office_or_404
def site_labels(request, pk: int):
    """``/staff/sites/<id>/labels.pdf``: a sheet of QR labels, one per piece of equipment at the site;
    scanning one opens the request form for that equipment."""
    site = Site.objects.select_related("customer").filter(pk=pk).first()
    if site is None:
        raise Http404(_("No such site."))
    pieces = list(site.equipment.filter(active=True).order_by("serial"))  # a retired piece gets no new label
    if not pieces:
        raise Http404(_("No equipment is recorded at this site."))
    title = _("QR labels") + f" · {site.customer.name} · {site.label or site.address}"
    response = HttpResponse(labels_pdf(pieces, title=title), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="labels-site-{site.pk}.pdf"'
    return response
