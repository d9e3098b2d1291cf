"""The staff detail page (and the API's detail) as a dispatcher uses it: what it shows of the
order, whom it offers when assigning, and that it stays current when technicians change."""

import html
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import roles as R
from tests.factories import (
    EquipmentFactory,
    PartnerCompanyFactory,
    PartnerTechnicianFactory,
    SiteFactory,
    TechnicianFactory,
    WorkOrderFactory,
)
from workorders.api.output import WorkOrderDetailSerializer
from workorders.lifecycle import Status
from workorders.models import Attachment, WorkOrderEvent

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _url(wo):
    return f"/staff/work-orders/{wo.pk}/"


def _options(page: str, action: str) -> list[tuple[str, str, bool]]:
    """(value, text, disabled) of each technician offered in the ``action`` form's choice."""
    select = re.search(rf'<select name="technician" id="tech-{action}" required>(.*?)</select>', page, re.S)
    assert select, f"no technician choice for {action}"
    return [
        (value, html.unescape(text), bool(disabled))
        for value, disabled, text in re.findall(r'<option value="(\d*)"( disabled)?>([^<]*)</option>', select.group(1))
        if value
    ]


@pytest.fixture
def crew(db):
    """Three active technicians (one a partner's) and one who no longer works here."""
    company = PartnerCompanyFactory(name="Hu'an <Appliance> Services")
    return {
        "chen": TechnicianFactory(user__username="chen", user__first_name="Chen", user__last_name="Jie"),
        "ma": PartnerTechnicianFactory(user__username="ma", user__first_name="Ma", user__last_name="Li",
                                       partner_company=company),
        "bo": TechnicianFactory(user__username="bo", user__first_name="", user__last_name=""),
        "gone": TechnicianFactory(user__username="gone", user__first_name="Gone", active=False),
    }


def test_assigning_offers_every_active_technician_by_username_with_their_company(client, dispatcher, crew):
    wo = WorkOrderFactory(status=Status.NEW)
    client.force_login(dispatcher)
    page = client.get(_url(wo)).content.decode()

    assert _options(page, "assign") == [
        (str(crew["bo"].pk), "bo", False),
        (str(crew["chen"].pk), "Chen Jie", False),
        (str(crew["ma"].pk), "Ma Li (Hu'an <Appliance> Services)", False),
    ]
    assert "Hu&#x27;an &lt;Appliance&gt; Services" in page  # escaped
    assert "Gone" not in page


def test_reassigning_offers_everyone_but_the_current_technician(client, dispatcher, crew):
    wo = WorkOrderFactory(status=Status.ACCEPTED, technician=crew["chen"])
    client.force_login(dispatcher)
    page = client.get(_url(wo)).content.decode()

    offered = {value: disabled for value, _text, disabled in _options(page, "reassign")}
    assert offered == {str(crew["bo"].pk): False, str(crew["chen"].pk): True, str(crew["ma"].pk): False}
    assert {t.action for t in client.get(_url(wo)).context["actions"]} == {"reassign", "unassign", "hold", "cancel"}


def test_the_choice_of_technicians_costs_no_query(client, dispatcher, agent, crew):
    """However many technicians there are: the page reads the process's copy of them."""
    wo = WorkOrderFactory(status=Status.NEW)
    counts = {}
    for user in (agent, dispatcher):  # the agent may only cancel: no choice of technicians
        client.force_login(user)
        client.get(_url(wo))  # fills the per-process copies (core/refcache.py)
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(_url(wo)).content.decode()
        counts[user.username] = len(ctx.captured_queries)
    assert "tech-assign" in page
    assert counts["dispatcher"] == counts["agent"]

    TechnicianFactory.create_batch(20)
    client.get(_url(wo))  # the new technicians dropped the copy: it is loaded again once
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(_url(wo)).content.decode()
    assert len(_options(page, "assign")) == 23
    assert len(ctx.captured_queries) == counts["dispatcher"]


def test_a_renamed_deactivated_or_moved_technician_shows_so_on_the_next_request(client, dispatcher, crew):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=crew["ma"])
    client.force_login(dispatcher)
    page = client.get(_url(wo)).content.decode()
    assert "Ma Li · Hu&#x27;an &lt;Appliance&gt; Services" in page

    crew["ma"].user.first_name = "Mao"
    crew["ma"].user.save()
    crew["ma"].partner_company.name = "Pudong Repairs"
    crew["ma"].partner_company.save()
    crew["ma"].phone = "+8613700000999"
    crew["ma"].save(update_fields=["phone"])
    crew["bo"].active = False
    crew["bo"].save(update_fields=["active"])
    crew["gone"].active = True
    crew["gone"].save()

    page = client.get(_url(wo)).content.decode()
    assert "Mao Li · Pudong Repairs" in page and 'href="tel:+8613700000999"' in page
    offered = {text for _value, text, _disabled in _options(page, "reassign")}
    assert offered == {"Chen Jie", "Mao Li (Pudong Repairs)", "Gone"}


def test_the_page_shows_the_site_equipment_technician_times_and_history(client, dispatcher, crew):
    site = SiteFactory(label="Head office", city="Shanghai", latitude=Decimal("31.2304"), longitude=Decimal("121.4737"))
    equipment = EquipmentFactory(customer=site.customer, site=site, brand="Gree", serial="SN-OLD-1",
                                 warranty_end=date(2020, 5, 31))
    start = datetime(2026, 5, 1, 1, 30, tzinfo=ZoneInfo("UTC"))  # 09:30 in Shanghai
    wo = WorkOrderFactory(
        customer=site.customer, site=site, equipment=equipment, status=Status.ACCEPTED, technician=crew["ma"],
        appointment_start=start, appointment_end=start + timedelta(hours=2), accepted_at=start - timedelta(days=1),
        description="Leaks <water>\nonto the sofa",
    )
    Attachment.objects.create(work_order=wo, kind=Attachment.Kind.CUSTOMER_PHOTO, file="a.jpg",
                              content_type="image/jpeg", size=10)
    WorkOrderEvent.objects.create(work_order=wo, action="hold", from_status=Status.ACCEPTED, to_status=Status.ON_HOLD,
                                  actor=dispatcher, actor_role=R.DISPATCHER, note="Waiting for <parts>\r\nfrom Gree")
    WorkOrderEvent.objects.create(work_order=wo, action="assign", from_status=Status.NEW, to_status=Status.ASSIGNED,
                                  actor=None, actor_role=R.SYSTEM, data={"technician_name": "Ma <Li>"})
    client.force_login(dispatcher)
    page = client.get(_url(wo)).content.decode()

    for text in (
        "Head office, Shanghai", "(31.230400, 121.473700)", "Gree KFR-35GW · serial number SN-OLD-1",
        "warranty ended 2020-05-31", "Ma Li · Hu&#x27;an", f'href="tel:{crew["ma"].phone}"',
        "2026-05-01 09:30 – 2026-05-01 11:30", "<dt>Accepted</dt><dd>2026-04-30 09:30</dd>",
        "Leaks &lt;water&gt;<br>onto the sofa", "Waiting for &lt;parts&gt;<br>from Gree", "(Dispatcher)",
        "technician: Ma &lt;Li&gt;", "(System)", "Accepted → On hold", "Photo 1",
        f'value="{start.astimezone(SHANGHAI):%Y-%m-%dT%H:%M}"',  # the appointment, ready to change
    ):
        assert text in page, text


def test_a_number_beyond_any_id_is_not_found(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get("/staff/work-orders/99999999999999999999/").status_code == 404
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")
    assert api.get("/api/v1/work-orders/99999999999999999999/").status_code == 404


def test_the_api_detail_answers_as_the_serializer_describes_it(dispatcher, crew):
    wo = WorkOrderFactory(status=Status.ASSIGNED, technician=crew["ma"], site=SiteFactory(),
                          preferred_start=datetime(2026, 5, 1, 1, 0, tzinfo=ZoneInfo("UTC")),
                          preferred_end=datetime(2026, 5, 1, 5, 0, tzinfo=ZoneInfo("UTC")))
    WorkOrderEvent.objects.create(work_order=wo, action="assign", from_status=Status.NEW, to_status=Status.ASSIGNED,
                                  actor=dispatcher, actor_role=R.DISPATCHER, note="Nearest",
                                  latitude=Decimal("31.2304"), longitude=Decimal("121.4737"))
    Attachment.objects.create(work_order=wo, file="x.jpg", content_type="image/jpeg", size=10, width=4, height=3,
                              original_name="leak.jpg")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=dispatcher).key}")

    body = api.get(f"/api/v1/work-orders/{wo.pk}/").json()

    wo.refresh_from_db()
    context = {"request": type("R", (), {"user": dispatcher})()}
    expected = WorkOrderDetailSerializer(wo, context=context).data  # built from the model
    assert body == expected
    assert body["technician"] == {"id": crew["ma"].pk, "name": "Ma Li", "username": "ma",
                                  "partner_company": crew["ma"].partner_company_id}
    assert body["events"][-1]["latitude"] == 31.2304 and body["events"][-1]["actor"] == "dispatcher"
    assert body["attachments"][0]["original_name"] == "leak.jpg"
    assert body["preferred_start"] == "2026-05-01T09:00:00+08:00"
