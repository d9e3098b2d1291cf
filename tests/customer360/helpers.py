"""Test data for the customer page and the equipment history: completed visits with parts and photos."""

import uuid
from datetime import timedelta

from django.utils import timezone

from completion.models import CompletionReport
from completion.services import PhotoUpload, completion_submit
from tests.factories import PartFactory, WorkOrderFactory
from tests.technicians.helpers import photo_upload, signature_png
from workorders.lifecycle import Status
from workorders.models import WorkOrder


def visit(technician, equipment, *, days_ago: int, work_done="Replaced the drain pump.", parts=(), photos=0,
          resolved_days_ago: int | None = None, **kwargs) -> WorkOrder:
    """A completed order on ``equipment``, created ``days_ago`` days ago and resolved
    ``resolved_days_ago`` days ago (default: the day it was created), with a completion report
    naming ``parts`` ((part, quantity) pairs) and ``photos`` photos."""
    wo = WorkOrderFactory(technician=technician, status=Status.IN_PROGRESS, customer=equipment.customer,
                          site=equipment.site, equipment=equipment, **kwargs)
    completion_submit(
        work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(), work_done=work_done,
        labour_minutes=60, signer_name="王芳", signature=signature_png(),
        parts=[(part.part_number, quantity) for part, quantity in parts],
        photos=[PhotoUpload(photo_upload()) for _ in range(photos)],
    )
    now = timezone.now()
    resolved = now - timedelta(days=days_ago if resolved_days_ago is None else resolved_days_ago)
    WorkOrder.objects.filter(pk=wo.pk).update(created_at=now - timedelta(days=days_ago, hours=2),
                                              resolved_at=resolved)
    CompletionReport.objects.filter(work_order=wo).update(created_at=resolved, signed_at=resolved)
    wo.refresh_from_db()
    return wo


def open_order(equipment, *, days_ago: int = 0, **kwargs) -> WorkOrder:
    """A new order on ``equipment`` created ``days_ago`` days ago."""
    wo = WorkOrderFactory(customer=equipment.customer, site=equipment.site, equipment=equipment, **kwargs)
    WorkOrder.objects.filter(pk=wo.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    wo.refresh_from_db()
    return wo


def part(name="Drain pump", price=80):
    return PartFactory(name=name, unit_price=price)
