"""My jobs and the job page: what a technician sees, who may see it, and what it costs the database."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ChecklistItemFactory,
    EquipmentFactory,
    PartnerTechnicianFactory,
    UserFactory,
    WorkOrderFactory,
)
from workorders.lifecycle import Status
from workorders.models import Attachment, WorkOrderEvent

from .helpers import job_for

pytestmark = pytest.mark.django_db


def _at(days=0, hours=0):
    base = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    return base + timedelta(days=days, hours=hours)


def _assigned(technician, start, **kwargs):
    return job_for(technician, status=kwargs.pop("status", Status.ACCEPTED), appointment_start=start,
                   appointment_end=start + timedelta(hours=1), **kwargs)


def test_my_jobs_lists_today_then_upcoming_in_appointment_order(client, technician, other_technician):
    # Given jobs at 11:00 and 09:00 today, one tomorrow, a finished one and a colleague's
    late = _assigned(technician, _at(hours=2), contact_name="Late Li")
    early = _assigned(technician, _at(), contact_name="Early Wang", priority=4)
    tomorrow = _assigned(technician, _at(days=1), contact_name="Tomorrow Zhao")
    done = _assigned(technician, _at(hours=4), status=Status.CLOSED, contact_name="Done Qian")
    theirs = _assigned(other_technician, _at(hours=1), contact_name="Other Sun")
    client.force_login(technician.user)

    # When the technician opens "my jobs"
    html = client.get(reverse("tech:jobs")).content.decode()

    # Then today's come first by time, then tomorrow's; not the closed one nor the colleague's
    positions = [html.index(wo.contact_name) for wo in (early, late, tomorrow)]
    assert positions == sorted(positions)
    assert done.contact_name not in html and theirs.contact_name not in html
    # ... each with its address, service type, priority and promised time
    assert early.address in html and early.service_type.name in html
    assert "09:00" in html and "11:00" in html


def test_job_page_shows_site_navigation_equipment_history_photos_and_checklist(client, technician):
    # Given a job on equipment that was serviced before, with a customer photo and a checklist
    equipment = EquipmentFactory(serial="SN-HISTORY-1")
    earlier = WorkOrderFactory(customer=equipment.customer, site=equipment.site, equipment=equipment,
                               status=Status.CLOSED, created_at=timezone.now() - timedelta(days=90),
                               description="Compressor noise")
    wo = job_for(technician, customer=equipment.customer, site=equipment.site, equipment=equipment)
    photo = Attachment.objects.create(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, file="x.jpg",
                                      content_type="image/jpeg", size=10)
    ChecklistItemFactory(service_type=wo.service_type, text="Check refrigerant pressure", mandatory=True)
    client.force_login(technician.user)

    # When they open the job
    html = client.get(reverse("tech:job", args=[wo.pk])).content.decode()

    # Then they can navigate there, see the earlier visit, the photo and the checklist
    assert "geo:31.230000,121.470000" in html
    assert "SN-HISTORY-1" in html and earlier.number in html
    assert reverse("intake:attachment", args=[photo.pk]) in html
    assert "Check refrigerant pressure" in html
    assert wo.description in html


@pytest.mark.parametrize("url_name", ["tech:job", "tech:complete"])
def test_another_technicians_job_is_not_found(client, technician, other_technician, url_name):
    wo = job_for(other_technician)
    client.force_login(technician.user)
    assert client.get(reverse(url_name, args=[wo.pk])).status_code == 404


def test_a_technician_cannot_act_on_another_technicians_job(client, technician, other_technician):
    wo = job_for(other_technician, status=Status.ASSIGNED)
    client.force_login(technician.user)

    response = client.post(reverse("tech:status", args=[wo.pk]), {"action": "accept"})

    assert response.status_code == 404
    wo.refresh_from_db()
    assert wo.status == Status.ASSIGNED and wo.events.count() == 1


def test_partner_technician_sees_their_companys_jobs_only(client, partner_technician, technician):
    # Given a colleague at the same partner company, a technician of another partner and our own staff
    colleague = PartnerTechnicianFactory(partner_company=partner_technician.partner_company)
    stranger = PartnerTechnicianFactory()
    colleagues_job = job_for(colleague, status=Status.ASSIGNED)
    strangers_job = job_for(stranger, status=Status.ASSIGNED)
    staff_job = job_for(technician, status=Status.ASSIGNED)
    client.force_login(partner_technician.user)

    # Then the company's job opens, the others do not exist for them
    assert client.get(reverse("tech:job", args=[colleagues_job.pk])).status_code == 200
    assert client.get(reverse("tech:job", args=[strangers_job.pk])).status_code == 404
    assert client.get(reverse("tech:job", args=[staff_job.pk])).status_code == 404
    assert client.post(reverse("tech:status", args=[strangers_job.pk]), {"action": "accept"}).status_code == 404
    strangers_job.refresh_from_db()
    assert strangers_job.status == Status.ASSIGNED


def test_office_staff_and_strangers_are_kept_out(client, dispatcher):
    assert client.get(reverse("tech:jobs")).status_code == 302  # to the login page
    client.force_login(dispatcher)
    assert client.get(reverse("tech:jobs")).status_code == 403
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("tech:jobs")).status_code == 403


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_my_jobs_costs_the_same_queries_for_two_jobs_or_twenty(client, technician):
    client.force_login(technician.user)
    for hour in range(2):
        _assigned(technician, _at(hours=hour))
    client.get(reverse("tech:jobs"))  # fills the per-process caches (roles: core/refcache.py)
    few = _queries(client, reverse("tech:jobs"))
    for day in range(1, 19):
        _assigned(technician, _at(days=day))
    assert _queries(client, reverse("tech:jobs")) == few


def test_job_page_costs_the_same_queries_however_long_its_history(client, technician):
    # Given a job with a short history: one earlier visit on its equipment, one photo, one checklist item
    equipment = EquipmentFactory()
    WorkOrderFactory(customer=equipment.customer, site=equipment.site, equipment=equipment,
                     created_at=timezone.now() - timedelta(days=60))
    wo = job_for(technician, customer=equipment.customer, site=equipment.site, equipment=equipment)
    Attachment.objects.create(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, file="x.jpg",
                              content_type="image/jpeg", size=10)
    ChecklistItemFactory(service_type=wo.service_type)
    client.force_login(technician.user)
    url = reverse("tech:job", args=[wo.pk])
    client.get(url)  # fills the per-process caches (roles: core/refcache.py)
    few = _queries(client, url)

    # When many more events, photos, checklist items and earlier visits pile up
    for i in range(25):
        WorkOrderEvent.objects.create(work_order=wo, action="hold", from_status="in_progress",
                                      to_status="on_hold", actor=technician.user, note=f"note {i}")
    for _ in range(5):
        Attachment.objects.create(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, file="x.jpg",
                                  content_type="image/jpeg", size=10)
        ChecklistItemFactory(service_type=wo.service_type)
        WorkOrderFactory(customer=equipment.customer, site=equipment.site, equipment=equipment,
                         created_at=timezone.now() - timedelta(days=30))

    # Then the page still issues the same number of queries
    assert _queries(client, url) == few


def test_a_technician_signing_in_lands_on_my_jobs(client, technician, partner_technician):
    for tech in (technician, partner_technician):
        client.force_login(tech.user)
        response = client.get("/")
        assert response.status_code == 302 and response.url == reverse("tech:jobs")
