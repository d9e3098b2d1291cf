from django.db.models import OuterRef, Prefetch, Q, Subquery

from .models import Customer, Equipment, Site


def customer_find_by_phone(*, phone: str) -> Customer | None:
    """A repeat caller with their sites and equipment, for the intake page."""
    return (
        Customer.objects.filter(phone=phone)
        .prefetch_related("sites", Prefetch("equipment", queryset=Equipment.objects.select_related("site")))
        .first()
    )


def site_at_address(*, customer_id: int, address: str) -> Site | None:
    """The customer's (first) site at this address (spaces normalised, any letter case), if any."""
    return _sites_at(address).filter(customer_id=customer_id).first()


def customer_with_site_at(*, phone: str, address: str) -> Customer | None:
    """The customer with this phone number, with ``site_here``: the id of their site at this
    address, or None (one query)."""
    return (
        Customer.objects.filter(phone=phone)
        .annotate(site_here=Subquery(_sites_at(address).filter(customer_id=OuterRef("pk")).values("id")[:1]))
        .first()
    )


def _sites_at(address: str):
    return Site.objects.filter(address__iexact=Site.normalize_address(address)).order_by("id")


# Search (workorders/search.py): how many matches of each kind a search follows into work
# orders. The trigram indexes of customers/migrations/0002 answer the fragments.
SEARCH_LIMIT = 200
CUSTOMER_RESULT_VALUES = ("id", "name", "phone", "tier")


def customers_matching(*, text: str, phone: str | None = None, digits: str = "") -> list[dict]:
    """Customers whose name holds ``text``, whose number is ``phone`` (E.164), or whose number
    holds ``digits`` (three or more), best first: the exact number, then by name."""
    match = Q(name__icontains=text) if len(text) >= 2 else Q()
    if phone:
        match |= Q(phone=phone)
    if len(digits) >= 3:
        match |= Q(phone__contains=digits)
    if not match:
        return []
    rows = Customer.objects.filter(match).order_by("name", "id").values(*CUSTOMER_RESULT_VALUES)[:SEARCH_LIMIT]
    rows = list(rows)
    if phone:
        rows.sort(key=lambda r: r["phone"] != phone)
    return rows


def site_ids_matching(text: str) -> list[int]:
    """Sites whose address holds ``text`` (three characters or more: the index needs a trigram)."""
    if len(text) < 3:
        return []
    return list(Site.objects.filter(address__icontains=text).order_by().values_list("id", flat=True)[:SEARCH_LIMIT])


def equipment_ids_matching(text: str) -> list[int]:
    """Equipment whose serial number holds ``text`` (three characters or more)."""
    if len(text) < 3:
        return []
    return list(
        Equipment.objects.filter(serial__icontains=text).order_by().values_list("id", flat=True)[:SEARCH_LIMIT]
    )
