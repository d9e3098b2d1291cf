"""Whether an order is covered, and by what: a running contract or the equipment's warranty.

``coverage_for`` is asked by every work-order creation (workorders.services.workorder_create),
so it costs at most one indexed query, and none when the company has no active contract at
all (a flag each process keeps, dropped by any change to a contract: ``ContractsConfig.ready``).
The warranty needs no query: the equipment row is already loaded.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import formats
from django.utils.translation import gettext as _

from core.refcache import VersionedCache

from .models import Contract

REFDATA = VersionedCache("contracts")

# Orders in this state do not use up one of a contract's included visits (the work orders'
# status, named here by value: this app sits below workorders and may not import it).
UNCOUNTED_STATUSES = ("cancelled",)

CONTRACT = "contract"
WARRANTY = "warranty"


@dataclass(frozen=True)
class Coverage:
    """What covers a new order: ``kind`` is ``"contract"``, ``"warranty"`` or ``""`` (nothing)."""

    kind: str = ""
    contract: Contract | None = None
    percent: int = 0  # share of the price covered: 100 = free
    until: date | None = None  # the contract's last day or the warranty's end
    visits_included: int | None = None
    visits_used: int = 0  # before this order
    # A contract that would have covered the order but whose included visits are used up.
    used_up: Contract | None = None

    @property
    def covered(self) -> bool:
        return bool(self.kind)

    @property
    def sla_policy_id(self) -> int | None:
        return self.contract.sla_policy_id if self.contract is not None else None

    @property
    def visits_left(self) -> int | None:
        if self.visits_included is None:
            return None
        return max(self.visits_included - self.visits_used, 0)

    def describe(self) -> str:
        """One line for intake: "Contract C-2026-014, 3 of 6 visits left", "Under warranty until ..."."""
        if self.kind == CONTRACT:
            return contract_line(self.contract, self.visits_left, self.visits_included)
        if self.kind == WARRANTY:
            return _("Under warranty until %(day)s") % {"day": formats.date_format(self.until, "SHORT_DATE_FORMAT")}
        if self.used_up is not None:
            return _("Contract %(number)s: all %(n)d included visits are used; not covered") % {
                "number": self.used_up.number, "n": self.used_up.included_visits}
        return _("Not covered by a contract or warranty")


def contract_line(contract: Contract, left: int | None, included: int | None) -> str:
    if included is None:
        text = _("Contract %(number)s, visits not limited") % {"number": contract.number}
    else:
        text = _("Contract %(number)s, %(left)d of %(n)d visits left") % {
            "number": contract.number, "left": left, "n": included}
    if contract.covered_percent < 100:
        text += " · " + _("%(p)d%% off") % {"p": contract.covered_percent}
    return text


def company_has_contracts() -> bool:
    """Whether any active contract exists (kept per process; no query on most requests)."""
    return REFDATA.get("any", lambda: Contract.objects.filter(active=True).exists())


def _with_visits_used(queryset):
    return queryset.annotate(
        visits_used=Count("work_orders", filter=~Q(work_orders__status__in=UNCOUNTED_STATUSES))
    )


def coverage_for(*, customer_id: int | None, equipment=None, service_type_id: int, day: date) -> Coverage:
    """What covers an order of ``customer_id`` for ``equipment`` (an ``Equipment`` or None) and
    this service type, created on ``day``.

    A running contract that lists the service type (or lists none) and names this equipment (or
    none) comes first - the one for the equipment before one for the whole customer, then the
    larger share covered - while it has included visits left; otherwise the equipment's
    warranty, up to and including its last day; otherwise nothing.
    """
    used_up = None
    if customer_id is not None and company_has_contracts():
        types = Contract.service_types.through.objects.filter(contract_id=OuterRef("pk"))
        candidates = _with_visits_used(
            Contract.objects.filter(customer_id=customer_id, active=True, ends_on__gte=day, starts_on__lte=day)
            .filter(Q(equipment_id=None) | Q(equipment_id=getattr(equipment, "pk", None)))
            .filter(Exists(types.filter(servicetype_id=service_type_id)) | ~Exists(types))
        ).order_by(F("equipment_id").asc(nulls_last=True), "-covered_percent", "ends_on", "pk")
        for contract in candidates:
            if contract.included_visits is not None and contract.visits_used >= contract.included_visits:
                used_up = used_up or contract
                continue
            return Coverage(
                kind=CONTRACT, contract=contract, percent=contract.covered_percent, until=contract.ends_on,
                visits_included=contract.included_visits, visits_used=contract.visits_used,
            )
    if equipment is not None and equipment.warranty_end is not None and equipment.warranty_end >= day:
        return Coverage(kind=WARRANTY, percent=100, until=equipment.warranty_end, used_up=used_up)
    return Coverage(used_up=used_up)


def contracts_running(*, customer_id: int, day: date) -> list[Contract]:
    """The customer's contracts running on ``day``, each with ``visits_used`` (one query; none
    when the company has no contracts)."""
    if not company_has_contracts():
        return []
    return list(
        _with_visits_used(
            Contract.objects.filter(customer_id=customer_id, active=True, ends_on__gte=day, starts_on__lte=day)
        ).select_related("equipment").prefetch_related("service_types").order_by("ends_on", "pk")
    )


def contract_visits_used(contract_id: int) -> int:
    return _with_visits_used(Contract.objects.filter(pk=contract_id)).values_list("visits_used", flat=True).first() or 0


def customer_contracts(*, customer_id: int) -> list[Contract]:
    """Every contract of a customer, newest first, each with ``visits_used`` (the customer page)."""
    return list(
        _with_visits_used(Contract.objects.filter(customer_id=customer_id))
        .select_related("equipment", "sla_policy").prefetch_related("service_types").order_by("-ends_on", "-pk")
    )
