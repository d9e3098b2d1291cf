"""Factories for dispatch tests: shifts, partner scopes, required skills, booked orders."""

import datetime as dt

import factory
from django.utils import timezone

from technicians.models import PartnerScope, Shift
from tests.factories import (
    PartnerCompanyFactory,
    ServiceTypeFactory,
    SkillFactory,
    TechnicianFactory,
    TechnicianSkillFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from catalog.models import ServiceTypeSkill


class ShiftFactory(factory.django.DjangoModelFactory):
    """A weekly working window (set ``date`` and ``weekday=None`` for one date)."""

    class Meta:
        model = Shift

    technician = factory.SubFactory(TechnicianFactory)
    weekday = 0
    start = dt.time(9, 0)
    end = dt.time(17, 0)


class PartnerScopeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerScope

    partner_company = factory.SubFactory(PartnerCompanyFactory)
    service_type = factory.SubFactory(ServiceTypeFactory)
    city = ""


class ServiceTypeSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceTypeSkill

    service_type = factory.SubFactory(ServiceTypeFactory)
    skill = factory.SubFactory(SkillFactory)
    min_level = 2


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware local datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def booked(technician, start, end, *, status=Status.ASSIGNED, **kwargs):
    """A work order already given to ``technician`` in the window start–end."""
    return WorkOrderFactory(
        status=status, technician=technician, appointment_start=start, appointment_end=end,
        assigned_at=timezone.now(), **kwargs
    )


def skilled(technician, skill, level=3):
    return TechnicianSkillFactory(technician=technician, skill=skill, level=level)
