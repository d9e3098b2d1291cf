"""Completion reports are their own app (issue 13, S6b): their admin, permissions and the part
they add to the customer's tracking page moved with them, and nobody gained or lost a right."""

import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from completion.models import ChecklistAnswer, CompletionReport, PartUsage, ReportPhoto
from completion.selectors import workorder_customer_page_part
from completion.services import completion_submit
from core import roles as R
from core.apps import grant_role_permissions
from tests.factories import TechnicianFactory, UserFactory
from tests.technicians.helpers import job_for, signature_png
from workorders import selectors

pytestmark = pytest.mark.django_db

MODELS = [CompletionReport, ChecklistAnswer, PartUsage, ReportPhoto]


@pytest.fixture
def report(technician):
    wo = job_for(technician)
    report, _ = completion_submit(work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(),
                                  work_done="Replaced the fan motor.", labour_minutes=30, signer_name="Zhou",
                                  signature=signature_png())
    return report


def test_the_tables_stay_where_they_were():
    assert [m._meta.db_table for m in MODELS] == [
        "workorders_completionreport", "workorders_checklistanswer", "workorders_partusage", "workorders_reportphoto",
    ]
    assert {ContentType.objects.get_for_model(m).app_label for m in MODELS} == {"completion"}


def test_an_administrator_reads_the_reports_under_completion(client, report):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = client.get("/admin/completion/completionreport/")
    page = client.get(f"/admin/completion/completionreport/{report.pk}/change/")

    assert listing.status_code == 200 and report.signer_name in listing.content.decode()
    assert page.status_code == 200 and "Replaced the fan motor." in page.content.decode()
    assert client.get("/admin/workorders/completionreport/").status_code == 404


@pytest.mark.parametrize("role", [R.AGENT, R.DISPATCHER, R.MANAGER, R.TECHNICIAN, R.PARTNER_TECHNICIAN])
def test_no_role_gained_admin_rights_on_completion_reports(client, role, report):
    # Before the move no role had admin permissions on these models (reviews happen on
    # /staff/reviews/, by role); the move keeps it so.
    user = UserFactory(roles=[role], is_staff=True)
    grant_role_permissions(sender=None)

    granted = Permission.objects.filter(group__name=role, content_type__model__in=[m._meta.model_name for m in MODELS])

    assert Group.objects.filter(name=role).exists()
    assert list(granted) == []
    client.force_login(user)
    assert client.get("/admin/completion/completionreport/").status_code == 403


def test_a_manager_still_reviews_reports(client, manager, report):
    client.force_login(manager)

    response = client.get(f"/staff/reviews/{report.pk}/")

    assert response.status_code == 200 and "Replaced the fan motor." in response.content.decode()


def test_a_technician_of_another_company_still_cannot_read_the_pdf(client, report):
    client.force_login(TechnicianFactory().user)

    assert client.get(f"/staff/work-orders/{report.work_order_id}/report.pdf").status_code == 404


def test_completion_adds_its_part_to_the_customers_page():
    assert workorder_customer_page_part in selectors._CUSTOMER_PAGE_PARTS
