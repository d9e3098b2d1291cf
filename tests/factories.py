"""Factories for test data. Each builds a valid object with the fewest choices made."""

import factory
from django.contrib.auth.models import Group, User

from customers.models import Customer, Equipment, Site
from technicians.models import PartnerCompany, Skill, Technician, TechnicianSkill
from workorders.lifecycle import Status
from workorders.models import ServiceType, WorkOrder, WorkOrderEvent


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
