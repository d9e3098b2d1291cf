from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Upper

from core import roles as R

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


def customer_by_email(*, email: str) -> Customer | None:
    """The customer with this email address (any letter case; the newest if several share it),
    with ``latest_site``: their most recently added site, or None. Two queries; the first uses the
    UPPER(email) index of migration 0006."""
    if not email:
        return None
    newest_site = Site.objects.filter(customer_id=OuterRef("pk")).order_by("-id").values("id")[:1]
    customer = (
        Customer.objects.annotate(email_upper=Upper("email")).filter(email_upper=email.upper())
        .annotate(latest_site_id=Subquery(newest_site)).order_by("-created_at", "-id").first()
    )
    if customer is not None:
        customer.latest_site = Site.objects.filter(pk=customer.latest_site_id).first() if customer.latest_site_id else None
    return customer


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


# --- The customer search page (customer360): one text finds customers ------------------------------------

CUSTOMER_SEARCH_SHOWN = 25
CUSTOMER_SEARCH_VALUES = ("id", "code", "name", "phone", "tier")


def customer_search(*, text: str, phone: str | None = None, digits: str = "",
                    limit: int = CUSTOMER_SEARCH_SHOWN) -> list[dict]:
    """Customers found by ``text``: a customer code, a name or part of one (ranked by trigram
    similarity), a phone number (``phone``, E.164, matched exactly; else ``digits``, three or more,
    as a fragment), a fragment of a site's address or of an equipment serial.

    Each row is ``CUSTOMER_SEARCH_VALUES`` with ``matched``: the kinds of match ("code", "phone",
    "name", "address", "serial"), best matches first: an exact code, number or serial, then names by
    similarity, then number and code fragments, addresses and serials. Each kind is one query on an
    index (the trigram GIN indexes of customers/migrations/0002 and 0004, or a unique index), at
    most twice ``limit`` rows each, and one more reads the customers found. Only the kinds the text
    can be are asked: a full phone number, an exact code or serial (any letter case) is matched
    exactly and nothing else; a name needs a letter (Latin or Chinese); code and serial fragments
    need a digit, an address fragment something besides digits; fragments need three characters.
    Two characters of a name (a Chinese surname and given name) match names starting with them: a
    fragment that short has no trigram inside it, but the start of a name has (PostgreSQL's pg_trgm
    pads words), so the index still answers.
    """
    # customer id -> [(rank, position), kinds]; a lower rank is shown first.
    found: dict[int, list] = {}

    def add(ids, rank, kind):
        for position, pk in enumerate(ids):
            entry = found.setdefault(pk, [(rank, position), []])
            entry[0] = min(entry[0], (rank, position))
            if kind not in entry[1]:
                entry[1].append(kind)

    cap = 2 * limit  # rows asked of each kind: enough to fill the page once they are merged
    has_letter = any(ch.isalpha() for ch in text)
    has_digit = any(ch.isdigit() for ch in text)
    if phone:
        add(Customer.objects.filter(phone=phone).values_list("id", flat=True), 0, "phone")
    elif text:
        # An exact code or serial (as typed or in capitals, as they are kept): the person typed an
        # identifier, and the fragments are not asked.
        exact = list({text, text.upper()})
        add(Customer.objects.filter(code__in=exact).values_list("id", flat=True), 0, "code")
        add(Equipment.objects.filter(serial__in=exact).values_list("customer_id", flat=True), 0, "serial")
    if text and not found and not phone:
        if len(text) >= 2 and has_letter:
            match = Q(name__icontains=text) if len(text) >= 3 else Q(name__istartswith=text)
            names = (
                Customer.objects.filter(match)
                .annotate(similarity=TrigramSimilarity(Upper("name"), text.upper()))
                .order_by("-similarity", "name", "id")
                .values_list("id", flat=True)[:cap]
            )
            add(names, 1, "name")
        if len(digits) >= 3:
            add(Customer.objects.filter(phone__contains=digits).order_by().values_list("id", flat=True)
                [:cap], 2, "phone")
        if len(text) >= 3:
            if has_digit:
                add(Customer.objects.filter(code__icontains=text).order_by().values_list("id", flat=True)
                    [:cap], 2, "code")
            if not text.isdigit():  # digits alone are a number, a code or a serial, not an address
                add(Site.objects.filter(address__icontains=text).order_by().values_list("customer_id", flat=True)
                    [:cap], 3, "address")
            if has_digit:
                add(Equipment.objects.filter(serial__icontains=text).order_by().values_list("customer_id", flat=True)
                    [:cap], 3, "serial")
    if not found:
        return []
    best = sorted(found, key=lambda pk: (found[pk][0], pk))[:limit]
    rows = {r["id"]: r for r in Customer.objects.filter(pk__in=best).values(*CUSTOMER_SEARCH_VALUES)}
    return [{**rows[pk], "matched": found[pk][1]} for pk in best if pk in rows]


def customer_profile(*, pk: int) -> Customer | None:
    """One customer with ``sites`` (each with its ``equipment``) and all their ``equipment``
    (with its site): three queries."""
    if not 0 < pk < 2**63:
        return None
    return (
        Customer.objects.filter(pk=pk)
        .prefetch_related(
            Prefetch("sites", queryset=Site.objects.order_by("id")),
            Prefetch("equipment", queryset=Equipment.objects.select_related("site").order_by("site_id", "serial")),
        )
        .first()
    )


def equipment_detail(*, pk: int) -> Equipment | None:
    """One piece of equipment with its customer and site (one query)."""
    if not 0 < pk < 2**63:
        return None
    return Equipment.objects.select_related("customer", "site").filter(pk=pk).first()


# --- What a caller may see and change (the API: customers/api.py) ------------------------------


def customer_scope(user) -> tuple:
    """Which customers ``user`` sees, as a key: ``("all",)`` (office roles, superusers, an
    unrestricted API client), ``("customer", id)`` (an API client restricted to a customer),
    ``("partner", company id)`` (a partner technician, an API client restricted to a partner
    company: the customers of the orders assigned to its technicians), ``("technician", id)`` (a
    technician: the customers of their orders) or ``("none",)``."""
    if user is None or not user.is_authenticated:
        return ("none",)
    if user.is_superuser:
        return ("all",)
    names = R.roles_of(user)
    if names & R.OFFICE_ROLES:
        return ("all",)
    if R.INTEGRATION in names:
        return R.client_scope(user)
    tech = R.technician_profile(user) if names & R.FIELD_ROLES else None
    if tech is None:
        return ("none",)
    if R.PARTNER_TECHNICIAN in names and tech.partner_company_id:
        return ("partner", tech.partner_company_id)
    return ("technician", tech.pk)


def _customer_ids(scope: tuple):
    """The ids of the customers of a non-"all" scope, as a subquery (None: every customer)."""
    kind = scope[0]
    if kind == "all":
        return None
    if kind == "customer":
        return Customer.objects.filter(pk=scope[1]).values("pk")
    # Through the work orders' reverse relation (workorders sits above this app: no import).
    if kind == "partner":
        return Customer.objects.filter(work_orders__technician__partner_company_id=scope[1]).values("pk")
    if kind == "technician":
        return Customer.objects.filter(work_orders__technician_id=scope[1]).values("pk")
    return Customer.objects.none().values("pk")


def customers_visible_to(user) -> QuerySet:
    ids = _customer_ids(customer_scope(user))
    return Customer.objects.all() if ids is None else Customer.objects.filter(pk__in=ids)


def sites_visible_to(user) -> QuerySet:
    ids = _customer_ids(customer_scope(user))
    return Site.objects.all() if ids is None else Site.objects.filter(customer_id__in=ids)


def equipment_visible_to(user) -> QuerySet:
    ids = _customer_ids(customer_scope(user))
    return Equipment.objects.all() if ids is None else Equipment.objects.filter(customer_id__in=ids)


def customer_write_scope(user) -> tuple:
    """Which customers ``user`` may create and change (with their sites and equipment):
    ``("all",)`` for agents, dispatchers, managers, superusers and unrestricted API clients,
    ``("customer", id)`` for a client restricted to that customer (its sites and equipment and
    the customer itself, no new customers), else ``("none",)``: field roles and partner-restricted
    clients only read."""
    scope = customer_scope(user)
    if scope[0] == "all" or scope[0] == "customer":
        return scope
    return ("none",)


# A customer's internal fields: the company's own records of the customer, for the office.
CUSTOMER_INTERNAL_FIELDS = ("code", "tier", "notes")


