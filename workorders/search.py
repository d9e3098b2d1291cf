"""The staff search box: one query string finds work orders by number, and customers by
name, phone number (typed any common way), address fragment or equipment serial, with
their work orders.

The matching customers, sites and equipment come from customers/selectors.py (trigram
indexes); their work orders are then read through the ordinary indexes on ``customer_id``,
``site_id`` and ``equipment_id``, newest first. ``bench/search_bench.py`` times it.
"""

import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from core.validation import normalize_phone
from customers.selectors import customers_matching, equipment_ids_matching, site_ids_matching

from .models import parse_number
from .selectors import workorder_visible_to

MAX_QUERY = 100  # characters
RESULTS = 25  # work orders shown
CUSTOMERS_SHOWN = 10
# What a phone number may be typed with besides digits: "+86 138-0000 1234", "(021) 5555 1234".
PHONE_TYPING = re.compile(r"^[\d\s+\-().]+$")


@dataclass
class SearchResult:
    query: str
    orders: list[dict] = field(default_factory=list)  # the caller's values, newest first
    more_orders: bool = False  # more than RESULTS matched
    customers: list[dict] = field(default_factory=list)  # customers.selectors.CUSTOMER_RESULT_VALUES
    more_customers: bool = False


@dataclass(frozen=True)
class Terms:
    text: str  # the query, spaces collapsed
    number: int | None  # a work-order number (WO-2026-000123, 123)
    phone: str | None  # a full phone number, in E.164 form
    digits: str  # the digits of a query typed as (part of) a phone number


def search_terms(query: str) -> Terms:
    """What ``query`` could mean; InvalidInput when it is too long or holds a NUL character."""
    query = query or ""
    if len(query) > MAX_QUERY:
        message = _("Search for at most %(count)d characters.") % {"count": MAX_QUERY}
        raise InvalidInput(message, fields={"q": [message]})
    if "\x00" in query:
        message = _("The search holds a character that cannot be searched for.")
        raise InvalidInput(message, fields={"q": [message]})
    text = " ".join(query.split())
    number = parse_number(text)
    phone, digits = None, ""
    if PHONE_TYPING.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 7:
            try:
                phone = normalize_phone(text)
            except InvalidInput:
                phone = None
    return Terms(text=text, number=number, phone=phone, digits=digits)


def staff_search(*, user, query: str, values: tuple[str, ...]) -> SearchResult:
    """Work orders ``user`` may see that match ``query``, read as ``values``, and (office roles)
    the matching customers. An empty query finds nothing."""
    terms = search_terms(query)
    result = SearchResult(query=terms.text)
    if not terms.text:
        return result
    customers = customers_matching(text=terms.text, phone=terms.phone, digits=terms.digits)
    # A phone number's digits are not an address or a serial; anything else may be.
    fragment = "" if terms.phone else terms.text
    site_ids = site_ids_matching(fragment)
    equipment_ids = equipment_ids_matching(fragment)

    match = Q()
    if terms.number is not None:
        match |= Q(pk=terms.number)
    if customers:
        match |= Q(customer_id__in=[c["id"] for c in customers])
    if site_ids:
        match |= Q(site_id__in=site_ids)
    if equipment_ids:
        match |= Q(equipment_id__in=equipment_ids)
    if match:
        rows = list(workorder_visible_to(user).filter(match).order_by("-id").values(*values)[: RESULTS + 1])
        if terms.number is not None:
            # The order with that very number first.
            rows.sort(key=lambda r: r["id"] != terms.number)
        result.orders, result.more_orders = rows[:RESULTS], len(rows) > RESULTS
    result.customers = customers[:CUSTOMERS_SHOWN]
    result.more_customers = len(customers) > CUSTOMERS_SHOWN
    return result
