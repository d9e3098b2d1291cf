"""Reads of the catalog: service types (kept per process), parts, checklists."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, JSONField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import get_language

from core.refcache import VersionedCache

from .flows import DEFAULT_FLOW, Flow, flow_of
from .models import ChecklistItem, CustomField, Part, ServiceType, ServiceTypePart


# --- Service types, kept per process -------------------------------------------------------
# Every creation and every queue page reads them; they change in Django admin a few
# times a year. A save or delete drops every process's copy within a second
# (core/refcache.py). The instances are shared: read them, never change them.

SERVICE_TYPES = VersionedCache("service_types")  # dropped by the receivers of CatalogConfig.ready()


# Each service type's custom fields, read in the same query as the types (a JSON array of their rows),
# so that a process's first request reads the reference data it needs in one query, not two.
_CUSTOM_FIELDS_JSON = RawSQL(
    f"(SELECT coalesce(jsonb_agg(to_jsonb(f) ORDER BY f.stage <> 'intake', f.position, f.id), '[]'::jsonb) "
    f"FROM {CustomField._meta.db_table} f WHERE f.service_type_id = {ServiceType._meta.db_table}.id)", [],
    output_field=JSONField(),
)


def service_types_all() -> list[ServiceType]:
    """Every service type, active or not, in display order (by name in the active language)."""
    return SERVICE_TYPES.get(f"all:{get_language()}", lambda: list(
        ServiceType.objects.annotate(custom_fields_rows=_CUSTOM_FIELDS_JSON).order_by("name", "pk")
    ))


def service_types_active() -> list[ServiceType]:
    """The service types customers may ask for, in display order."""
    return SERVICE_TYPES.get(f"active:{get_language()}", lambda: [st for st in service_types_all() if st.active])


def service_type_by_code(code) -> ServiceType | None:
    by_code = SERVICE_TYPES.get("by_code", lambda: {st.code: st for st in service_types_all()})
    return by_code.get(code) if isinstance(code, str) else None


def service_type_by_pk(pk) -> ServiceType | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return SERVICE_TYPES.get("by_pk", lambda: {st.pk: st for st in service_types_all()}).get(pk)


def service_type_refs(ids=()) -> dict[int, dict]:
    """Each service type's ``{"code", "name"}`` in the active language, by id, as the API's rows
    show it: plain dicts built once per process and language (a translated name read through
    its descriptor costs some thirty calls; a list page reads one per row)."""
    language = get_language()
    refs = SERVICE_TYPES.get(f"refs:{language}", lambda: {
        pk: {"code": st.code, "name": st.name} for pk, st in service_types_by_pk().items()
    })
    if any(pk not in refs for pk in ids):
        service_types_by_pk(ids)  # reloads the copies once when one is missing
        refs = SERVICE_TYPES.get(f"refs:{language}", lambda: {
            pk: {"code": st.code, "name": st.name} for pk, st in service_types_by_pk().items()
        })
    return refs


def service_types_by_pk(ids=()) -> dict[int, ServiceType]:
    """Every service type by id; reloaded once if one of ``ids`` is missing (a
    type added since this process read them)."""
    by_pk = SERVICE_TYPES.get("by_pk", lambda: {st.pk: st for st in service_types_all()})
    if any(pk not in by_pk for pk in ids):
        SERVICE_TYPES.clear_local()
        by_pk = SERVICE_TYPES.get("by_pk", lambda: {st.pk: st for st in service_types_all()})
    return by_pk


# --- Each service type's flow, kept with the service types ----------------------------------


def service_type_flow(service_type_id) -> Flow:
    """The flow of a service type (``catalog.flows``; the default flow for an unknown id), kept per
    process with the service types: a transition, a page's buttons and the API's rows read it
    without a query, and the same ``Flow`` object each time (the lifecycle caches by it)."""
    flows = SERVICE_TYPES.get("flows", lambda: {pk: flow_of(st) for pk, st in service_types_by_pk().items()})
    flow = flows.get(service_type_id)
    if flow is None and service_type_id is not None:
        by_pk = service_types_by_pk((service_type_id,))  # a type added since this process read them
        flow = flow_of(by_pk.get(service_type_id))
    return flow or DEFAULT_FLOW


# --- The parts each service type probably needs, kept with the service types --------------


@dataclass(frozen=True)
class PartNeed:
    part_id: int
    part_number: str
    name: str
    unit: str
    quantity: Decimal
    serialized: bool


def _parts_needed_all() -> dict[int, tuple[PartNeed, ...]]:
    needs: dict[int, list[PartNeed]] = {}
    rows = ServiceTypePart.objects.filter(part__active=True).select_related("part").order_by("service_type_id", "part__part_number")
    for row in rows:
        part = row.part
        needs.setdefault(row.service_type_id, []).append(
            PartNeed(part.pk, part.part_number, part.name, part.unit, row.quantity, part.serialized)
        )
    return {pk: tuple(lines) for pk, lines in needs.items()}


def service_type_parts(service_type_id) -> tuple[PartNeed, ...]:
    """The active parts a service type probably needs (assignment reserves them; dispatch shows who carries
    them). Kept per process with the service types: an assignment reads it without a query."""
    return SERVICE_TYPES.get("parts", _parts_needed_all).get(service_type_id, ())


# --- The custom fields of each service type, kept with the service types ---------------------


def _custom_fields_all() -> dict[int, tuple[CustomField, ...]]:
    """From the rows read with the service types (``_CUSTOM_FIELDS_JSON``): no query of its own."""
    names = {f.attname for f in CustomField._meta.concrete_fields}
    return {
        st.pk: tuple(CustomField(**{k: v for k, v in row.items() if k in names}) for row in st.custom_fields_rows)
        for st in service_types_all() if getattr(st, "custom_fields_rows", None)
    }


def custom_fields_of(service_type_id) -> tuple[CustomField, ...]:
    """Every custom field of a service type, active or not (to show values stored earlier): intake
    ones first, then by position. Kept per process with the service types: intake, the detail page
    and the API read it without a query. The instances are shared: read them, never change them."""
    return SERVICE_TYPES.get("custom_fields", _custom_fields_all).get(service_type_id, ())


def custom_fields_for(service_type_id, stage: str) -> tuple[CustomField, ...]:
    """The active custom fields a service type asks at ``stage`` (``CustomField.Stage``), in order."""
    return tuple(f for f in custom_fields_of(service_type_id) if f.active and f.stage == stage)


def custom_fields_all() -> dict[int, tuple[CustomField, ...]]:
    """Every service type's custom fields, by service type id (the reports' export)."""
    return SERVICE_TYPES.get("custom_fields", _custom_fields_all)


# --- Parts and checklists -------------------------------------------------------------------


def part_active_list() -> QuerySet:
    """The parts a technician may pick, by part number."""
    return Part.objects.filter(active=True).order_by("part_number")


def checklist_for(*, service_type_id: int) -> list[ChecklistItem]:
    """The active checklist (SOP) of a service type, in order."""
    return list(ChecklistItem.objects.filter(service_type_id=service_type_id, active=True))


# --- The API (catalog/api.py): who reads stock totals, who changes the catalog ------------------


def parts_for_api(*, with_stock: bool) -> QuerySet:
    """Parts, each with ``stock_on_hand`` (the sum of its stock levels' on hand, 0 without any) when
    ``with_stock``: a subquery of the same query, whatever the page's size. (The stock levels are
    inventory's, above this app: reached through the reverse relation, not imported.)"""
    if not with_stock:
        return Part.objects.all()
    levels = Part._meta.get_field("stock_levels").related_model
    total = (levels.objects.filter(part_id=OuterRef("pk")).order_by().values("part_id")
             .annotate(total=Sum("on_hand")).values("total"))
    quantity = DecimalField(max_digits=14, decimal_places=3)
    return Part.objects.annotate(stock_on_hand=Coalesce(Subquery(total, output_field=quantity),
                                                        Value(Decimal(0)), output_field=quantity))


def service_types_for_api() -> QuerySet:
    return ServiceType.objects.prefetch_related("required_skills__skill")


