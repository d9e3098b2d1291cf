"""Reads for the customer's self-service pages."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import roles as R
from workorders.lifecycle import FINAL_STATES, transition_for
from workorders.models import WorkOrder
from workorders.services import RESCHEDULE_STATES

MESSAGES = {
    "selfservice_code": (
        _("Your code"),
        _("%(company)s: your code to see your requests is %(code)s. It is valid for %(minutes)s minutes. "
          "Do not share it with anyone."),
    ),
}

MY_REQUESTS_MAX = 50


def may_cancel(work_order: WorkOrder) -> bool:
    """Whether the customer may cancel now (the lifecycle table: before a technician is on the way;
    the service type's flow may keep cancelling from the customer)."""
    cancel = transition_for("cancel", work_order.service_type_id)
    return R.CUSTOMER in cancel.roles and work_order.status in cancel.sources_for(R.CUSTOMER)


def may_reschedule(work_order: WorkOrder) -> bool:
    return work_order.status in RESCHEDULE_STATES


def may_add_note(work_order: WorkOrder) -> bool:
    return work_order.status not in FINAL_STATES


def self_service_part(*, work_order: WorkOrder) -> dict:
    """The tracking page's part: what the customer may do with this order now (no query)."""
    return {
        "self_service": {
            "cancel": may_cancel(work_order),
            "reschedule": may_reschedule(work_order),
            "note": may_add_note(work_order),
        }
    }


def requests_for_phone(*, phone: str) -> list[WorkOrder]:
    """The requests made with ``phone`` (as contact, or the customer's own phone), newest first."""
    return list(
        WorkOrder.objects.filter(Q(contact_phone=phone) | Q(customer__phone=phone))
        .select_related("service_type")
        .only("id", "created_at", "status", "public_token", "description", "service_type__name",
              "appointment_start", "appointment_end", "preferred_start", "preferred_end", "technician_id")
        .order_by("-created_at", "-pk")[:MY_REQUESTS_MAX]
    )


def has_requests(*, phone: str) -> bool:
    return WorkOrder.objects.filter(Q(contact_phone=phone) | Q(customer__phone=phone)).exists()


