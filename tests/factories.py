"""Factories for test data. Each builds a valid object with the fewest choices made."""

import factory
from django.contrib.auth.models import Group, User

from catalog.models import ServiceType, Skill
from customers.models import Customer, Equipment, Site
from technicians.models import PartnerCompany, Technician, TechnicianSkill
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    address = factory.Sequence(lambda n: f"{n} Century Avenue, Pudong, Shanghai")
    latitude = 31.230
    longitude = 121.470


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    customer = factory.SubFactory(CustomerFactory)
    site = factory.SubFactory(SiteFactory, customer=factory.SelfAttribute("..customer"))
    serial = factory.Sequence(lambda n: f"SN{n:08d}")
    brand = "Haier"
    model = "KFR-35GW"


class PartnerCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerCompany

    name = factory.Sequence(lambda n: f"Partner {n}")


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"skill-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technician

    user = factory.SubFactory(UserFactory, roles=["technician"])
    phone = factory.Sequence(lambda n: f"+86137{n:08d}")
    home_latitude = 31.2
    home_longitude = 121.5


class PartnerTechnicianFactory(TechnicianFactory):
    user = factory.SubFactory(UserFactory, roles=["partner_technician"])
    partner_company = factory.SubFactory(PartnerCompanyFactory)


class TechnicianSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TechnicianSkill

    technician = factory.SubFactory(TechnicianFactory)
    skill = factory.SubFactory(SkillFactory)
    level = 3


class ServiceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"repair-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    default_duration_minutes = 90
    callout_fee = 50


class WorkOrderFactory(factory.django.DjangoModelFactory):
    """A work order in any state, built directly (tests of the lifecycle use the service)."""

    class Meta:
        model = WorkOrder
        skip_postgeneration_save = True

    customer = factory.SubFactory(CustomerFactory)
    site = factory.SubFactory(SiteFactory, customer=factory.SelfAttribute("..customer"))
    service_type = factory.SubFactory(ServiceTypeFactory)
    contact_name = factory.SelfAttribute("customer.name")
    contact_phone = factory.SelfAttribute("customer.phone")
    address = factory.SelfAttribute("site.address")
    description = "The air conditioner drips water."
    status = Status.NEW

    @factory.post_generation
    def created_event(self, create, extracted, **kwargs):
        if create:
            WorkOrderEvent.objects.create(work_order=self, action="create", to_status=Status.NEW, actor_role="customer")


# --- Parts catalog and checklists (issue 4) ----------------------------------

from catalog.models import ChecklistItem, Part  # noqa: E402


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    part_number = factory.Sequence(lambda n: f"P-{n:05d}")
    name = factory.Sequence(lambda n: f"Part {n}")
    unit = "pcs"
    unit_price = 25


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    service_type = factory.SubFactory(ServiceTypeFactory)
    text = factory.Sequence(lambda n: f"Step {n}")
    position = factory.Sequence(lambda n: n)
    mandatory = False


# --- SLA calendars, policies, escalation matrices (issue 5) ----------------------------

import datetime as _dt  # noqa: E402

from sla.models import (  # noqa: E402
    BusinessCalendar,
    EscalationLevel,
    EscalationMatrix,
    SlaPolicy,
    WorkingHours,
)


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """Monday to Friday, 09:00-18:00, Asia/Shanghai (``hours=[(wd, start, end), ...]`` to change)."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"cal-{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    always_open = False

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create or self.always_open:
            return
        spans = extracted if extracted is not None else [(wd, _dt.time(9), _dt.time(18)) for wd in range(5)]
        for weekday, start, end in spans:
            WorkingHours.objects.create(calendar=self, weekday=weekday, start=start, end=end)


class EscalationMatrixFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationMatrix

    name = factory.Sequence(lambda n: f"Matrix {n}")


class EscalationLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationLevel

    matrix = factory.SubFactory(EscalationMatrixFactory)
    name = factory.LazyAttribute(lambda o: f"{o.percent}% level")
    percent = 100
    notify_roles = "manager"


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    """Matches every order unless narrowed; 24x7 unless given a calendar."""

    class Meta:
        model = SlaPolicy

    name = factory.Sequence(lambda n: f"Policy {n}")
    calendar = factory.SubFactory(BusinessCalendarFactory, always_open=True)
    first_response_minutes = 60
    arrival_minutes = 240
    resolution_minutes = 480


def workorder_via_service(*, customer=None, service_type=None, priority=2, language="", email="", **kw):
    """A new work order created through ``workorder_create``, so its SLA deadlines are computed."""
    from workorders.services import workorder_create

    customer = customer or CustomerFactory()
    site = SiteFactory(customer=customer)
    work_order, _created = workorder_create(
        channel=WorkOrder.Channel.PHONE, contact_name=customer.name, contact_phone=customer.phone,
        contact_email=email, address=site.address, service_type=service_type or ServiceTypeFactory(),
        description="The air conditioner drips water.", priority=priority, language=language,
        customer=customer, site=site, actor_role="agent", **kw,
    )
    return work_order
