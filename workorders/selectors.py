"""Reads of work orders for pages, the API and services."""

from django.db.models import Prefetch, QuerySet
from django.db.models.signals import post_delete, post_save

from core import roles as R
from core.refcache import VersionedCache, receiver_for

from .models import ServiceType, WorkOrder, WorkOrderEvent


def _technician_of(user):
    try:
        return user.technician
    except Exception:  # RelatedObjectDoesNotExist: the user has no technician profile
        return None


def workorder_visible_to(user) -> QuerySet:
    """The work orders ``user`` may see: office roles all, field roles their own scope."""
    qs = WorkOrder.objects.all()
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    names = R.roles_of(user)
    if names & R.OFFICE_ROLES:
        return qs
    tech = _technician_of(user)
    if tech is None:
        return qs.none()
    if R.PARTNER_TECHNICIAN in names and tech.partner_company_id:
        return qs.filter(technician__partner_company_id=tech.partner_company_id)
    if R.TECHNICIAN in names or R.PARTNER_TECHNICIAN in names:
        return qs.filter(technician_id=tech.pk)
    return qs.none()


def workorder_is_visible_to(user, work_order: WorkOrder) -> bool:
    """The same rule as ``workorder_visible_to``, for one loaded work order."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    names = R.roles_of(user)
    if names & R.OFFICE_ROLES:
        return True
    tech = _technician_of(user)
    if tech is None or work_order.technician_id is None:
        return False
    if R.PARTNER_TECHNICIAN in names and tech.partner_company_id:
        return work_order.technician.partner_company_id == tech.partner_company_id
    if R.TECHNICIAN in names or R.PARTNER_TECHNICIAN in names:
        return work_order.technician_id == tech.pk
    return False


LIST_RELATED = ("customer", "service_type", "technician__user")


def workorder_list(*, user) -> QuerySet:
    """Rows for the staff queue and the API list, with what each row shows."""
    return workorder_visible_to(user).select_related(*LIST_RELATED)


def workorder_detail(*, user, pk: int) -> WorkOrder | None:
    """One work order with its events and attachments, if ``user`` may see it."""
    return (
        workorder_visible_to(user)
        .select_related(
            "customer", "site", "equipment", "service_type", "technician__user", "technician__partner_company"
        )
        .prefetch_related(
            Prefetch("events", queryset=WorkOrderEvent.objects.select_related("actor").order_by("id")),
            "attachments",
        )
        .filter(pk=pk)
        .first()
    )


def workorder_for_tracking(*, token: str) -> WorkOrder | None:
    """The work order behind a customer's private tracking link."""
    if not token or len(token) > 64:
        return None
    return (
        WorkOrder.objects.select_related("service_type", "technician__user")
        .prefetch_related(Prefetch("events", queryset=WorkOrderEvent.objects.order_by("id")))
        .filter(public_token=token)
        .first()
    )


# --- Service types, kept per process -------------------------------------------------------
# Every creation and every queue page reads them; they change in Django admin a few
# times a year. A save or delete drops every process's copy within a second
# (core/refcache.py). The instances are shared: read them, never change them.

SERVICE_TYPES = VersionedCache("service_types")
post_save.connect(receiver_for(SERVICE_TYPES), sender=ServiceType, dispatch_uid="refcache-service-type-save")
post_delete.connect(receiver_for(SERVICE_TYPES), sender=ServiceType, dispatch_uid="refcache-service-type-delete")


def service_types_all() -> list[ServiceType]:
    """Every service type, active or not, in display order (by name)."""
    return SERVICE_TYPES.get("all", lambda: list(ServiceType.objects.order_by("name", "pk")))


def service_types_active() -> list[ServiceType]:
    """The service types customers may ask for, in display order."""
    return SERVICE_TYPES.get("active", lambda: [st for st in service_types_all() if st.active])


def service_type_by_code(code) -> ServiceType | None:
    by_code = SERVICE_TYPES.get("by_code", lambda: {st.code: st for st in service_types_all()})
    return by_code.get(code) if isinstance(code, str) else None


def service_type_by_pk(pk) -> ServiceType | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return SERVICE_TYPES.get("by_pk", lambda: {st.pk: st for st in service_types_all()}).get(pk)
