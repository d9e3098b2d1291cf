"""What belongs to a work order, read under it in the API: /api/v1/work-orders/{id}/events/,
…/attachments/, …/completion-reports/, …/surveys/. Seen exactly as the order is (404 otherwise),
in keyset pages, with created_after for what is new."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apiclients.services import apiclient_create
from completion.services import completion_submit
from tests.factories import PartnerTechnicianFactory, WorkOrderFactory
from tests.technicians.helpers import job_for, signature_png
from workorders.models import WorkOrderEvent
from tests.clients import logged_in

pytestmark = pytest.mark.django_db

CHILDREN = ("events", "attachments", "completion-reports", "surveys")


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_rate_limits):
    return fresh_rate_limits


@pytest.fixture
def reported(technician):
    """A job its technician resolved with a signed report: events, a signature, a report, a survey."""
    wo = job_for(technician)
    completion_submit(work_order_id=wo.pk, actor=technician.user, submission_key=uuid.uuid4(),
                      work_done="Replaced the fan motor.", labour_minutes=30, signer_name="Zhou",
                      signature=signature_png())
    return wo


def test_the_office_reads_the_events_attachments_report_and_survey_of_an_order(dispatcher, reported):
    api = logged_in(dispatcher)
    base = f"/api/v1/work-orders/{reported.pk}"
    events = api.get(f"{base}/events/").json()["results"]
    assert [e["action"] for e in events] == list(
        WorkOrderEvent.objects.filter(work_order=reported).order_by("id").values_list("action", flat=True))
    assert events[-1]["to_status"] == reported.__class__.objects.get(pk=reported.pk).status
    attachments = api.get(f"{base}/attachments/").json()["results"]
    assert [a["kind"] for a in attachments] == ["signature"]
    [report] = api.get(f"{base}/completion-reports/").json()["results"]
    assert (report["work_done"], report["labour_minutes"], report["signer_name"], report["invoiced"]) == (
        "Replaced the fan motor.", 30, "Zhou", False)
    assert "labour_cost" not in report and "review_comment" not in report
    [survey] = api.get(f"{base}/surveys/").json()["results"]
    assert survey["status"] == "open" and "token" not in survey


def test_created_after_returns_exactly_the_new_events(dispatcher, reported):
    api = logged_in(dispatcher)
    url = f"/api/v1/work-orders/{reported.pk}/events/"
    events = list(WorkOrderEvent.objects.filter(work_order=reported).order_by("id"))
    assert len(events) == 3 and events[0].created_at < events[1].created_at
    # Events are append-only: a sync's last moment is the latest one it read.
    rows = api.get(url, {"created_after": events[1].created_at.isoformat()}).json()["results"]
    assert [row["id"] for row in rows] == [e.pk for e in events[1:]]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get(url, {"created_after": later}).json()["results"] == []
    newest_first = api.get(url, {"sort": "-id", "page_size": 1}).json()
    assert [row["id"] for row in newest_first["results"]] == [events[-1].pk] and newest_first["next"]
    assert api.get(url, {"created_after": "yesterday"}).status_code == 400


def test_an_order_the_caller_cannot_see_is_404_for_each_list(reported, other_technician, partner_technician):
    stranger = logged_in(other_technician.user)
    partner = logged_in(partner_technician.user)
    for child in CHILDREN:
        assert stranger.get(f"/api/v1/work-orders/{reported.pk}/{child}/").status_code == 404
        assert partner.get(f"/api/v1/work-orders/{reported.pk}/{child}/").status_code == 404
        assert stranger.get(f"/api/v1/work-orders/999999/{child}/").status_code == 404


def test_the_technician_and_their_partner_company_read_their_own_orders(technician, reported):
    own = logged_in(technician.user)
    assert own.get(f"/api/v1/work-orders/{reported.pk}/completion-reports/").status_code == 200
    colleague = PartnerTechnicianFactory()
    order = WorkOrderFactory(technician=PartnerTechnicianFactory(partner_company=colleague.partner_company),
                             status="assigned")
    assert logged_in(colleague.user).get(f"/api/v1/work-orders/{order.pk}/events/").status_code == 200


def test_the_customer_s_feedback_is_not_for_field_roles(technician, reported):
    own = logged_in(technician.user)
    assert own.get(f"/api/v1/work-orders/{reported.pk}/events/").status_code == 200
    assert own.get(f"/api/v1/work-orders/{reported.pk}/surveys/").status_code == 404


def test_keys_read_them_with_the_work_orders_scope_and_within_their_restriction(reported):
    _client, key = apiclient_create(name="ERP", scopes=["work_orders:read"])
    erp = APIClient()
    erp.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    for child in CHILDREN:
        assert erp.get(f"/api/v1/work-orders/{reported.pk}/{child}/").status_code == 200
    _client, key = apiclient_create(name="CRM", scopes=["customers:read"])
    crm = APIClient()
    crm.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert crm.get(f"/api/v1/work-orders/{reported.pk}/events/").status_code == 403
    _client, key = apiclient_create(name="Partner", scopes=["work_orders:read"],
                                    partner_company=PartnerTechnicianFactory().partner_company)
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert partner.get(f"/api/v1/work-orders/{reported.pk}/surveys/").status_code == 404
