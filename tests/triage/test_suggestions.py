"""Triage suggestions: training versions, the threshold, too little data, the API, the pages."""

import html
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from core import roles as R
from tests.factories import CustomerFactory, SiteFactory, UserFactory, WorkOrderFactory
from triage.models import TriageModel
from triage.selectors import acceptance_rate, suggest
from triage.services import triage_train
from triage.tasks import triage_retrain
from workorders.lifecycle import Status
from workorders.models import WorkOrder, WorkOrderEvent

from .conftest import OBVIOUS

pytestmark = pytest.mark.django_db

SUGGEST = "/api/v1/triage/suggest/"


def api(user):
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


# --- the model -----------------------------------------------------------------------------


def test_the_obvious_description_gets_air_conditioner_repair_with_its_skills_and_a_confidence(trained):
    answer = suggest(OBVIOUS)

    assert trained.usable and trained.version == 1
    assert answer["suggested"] is True and answer["model_version"] == 1
    assert answer["service_type"]["code"] == "aircon-repair"
    assert 0.5 <= answer["service_type"]["confidence"] <= 1.0
    assert [s["code"] for s in answer["skills"]] == ["refrigeration"]


def test_a_training_run_records_its_held_out_accuracy_per_service_type(trained):
    row = TriageModel.objects.get(version=1)

    assert row.held_out > 0 and row.samples > row.held_out
    assert {"aircon-repair", "washer-repair", "fridge-repair"} <= set(row.per_class)
    assert row.per_class["aircon-repair"]["n"] >= 1
    assert 0 <= row.accuracy <= row.accuracy_top3 <= 1
    assert bytes(row.model)


def test_below_the_confidence_threshold_nothing_is_suggested(trained, settings):
    settings.TRIAGE_MIN_CONFIDENCE = 0.9999

    answer = suggest(OBVIOUS)

    assert answer["suggested"] is False and answer["reason"] == "low_confidence"
    assert answer["service_type"] is None and answer["priority"] is None and answer["skills"] == []


def test_a_model_trained_on_too_little_data_says_so_and_suggests_nothing(fixture_types, settings):
    settings.TRIAGE_MIN_SAMPLES = 50

    row = triage_train(rows=[(OBVIOUS, "aircon-repair", 3)] * 10)
    answer = suggest(OBVIOUS)

    assert not row.usable and "Too little data" in row.note and not bytes(row.model)
    assert answer["suggested"] is False and answer["reason"] == "too_little_data"
    assert "too little data" in answer["message"]


def test_a_newer_run_with_too_little_data_stops_the_older_models_suggestions(trained, settings):
    assert suggest(OBVIOUS)["suggested"]
    settings.TRIAGE_MIN_SAMPLES = 1000

    triage_train(rows=[(OBVIOUS, "aircon-repair", 3)] * 30)

    assert suggest(OBVIOUS)["reason"] == "too_little_data"


def test_one_service_type_only_is_too_little_to_learn_from(fixture_types, settings):
    settings.TRIAGE_MIN_SAMPLES = 5
    row = triage_train(rows=[(f"空调不制冷 {n}", "aircon-repair", 3) for n in range(10)])
    assert not row.usable and "two service types" in row.note


def test_the_beat_task_learns_from_closed_orders_and_versions_each_run(fixture_types, settings):
    settings.TRIAGE_MIN_SAMPLES = 20
    from .conftest import fixture_rows

    for text, code, priority in fixture_rows():
        WorkOrderFactory(description=text, service_type=fixture_types[code], priority=priority, status=Status.CLOSED)
    WorkOrderFactory(description="冰箱不冷了 open", service_type=fixture_types["fridge-repair"], status=Status.NEW)

    first, second = triage_retrain(), triage_retrain()

    assert (first, second) == (1, 2)
    assert TriageModel.objects.get(version=2).samples == len(fixture_rows())  # closed orders only
    assert suggest(OBVIOUS)["service_type"]["code"] == "aircon-repair"
    entry = django_settings.CELERY_BEAT_SCHEDULE["triage-retrain"]
    assert entry["task"] == "core.tasks.periodic" and entry["args"][0] == "triage.tasks.triage_retrain"


# --- the API -------------------------------------------------------------------------------


def test_the_api_suggests_for_an_agent(trained, agent):
    response = api(agent).post(SUGGEST, {"description": OBVIOUS}, content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert body["suggested"] and body["service_type"]["code"] == "aircon-repair"
    assert body["duplicates"] == []


def test_the_api_flags_the_callers_open_orders_with_a_similar_description(trained, agent, fixture_types):
    customer = CustomerFactory(phone="+8613812345678")
    same = WorkOrderFactory(customer=customer, description="空调不制冷了，外机一直有异响", status=Status.ASSIGNED)
    WorkOrderFactory(customer=customer, description="洗衣机不排水", status=Status.NEW)  # another problem
    WorkOrderFactory(customer=customer, description=OBVIOUS, status=Status.CLOSED)  # no longer open
    WorkOrderFactory(description=OBVIOUS, status=Status.NEW)  # someone else

    response = api(agent).post(SUGGEST, {"description": OBVIOUS, "contact_phone": "138 1234 5678"},
                               content_type="application/json")

    assert [d["id"] for d in response.json()["duplicates"]] == [same.pk]
    assert response.json()["duplicates"][0]["url"] == reverse("staff:detail", args=[same.pk])


def test_duplicates_older_than_the_window_are_not_flagged(trained, agent):
    site = SiteFactory()
    old = WorkOrderFactory(customer=site.customer, site=site, description=OBVIOUS, status=Status.NEW)
    WorkOrder.objects.filter(pk=old.pk).update(created_at=old.created_at - __import__("datetime").timedelta(days=8))

    response = api(agent).post(SUGGEST, {"description": OBVIOUS, "site": site.pk}, content_type="application/json")

    assert response.json()["duplicates"] == []


def test_bad_input_to_the_api_is_refused_with_the_field_named(trained, agent):
    client = api(agent)
    missing = client.post(SUGGEST, {}, content_type="application/json")
    number = client.post(SUGGEST, {"description": "x", "contact_phone": 138}, content_type="application/json")
    long = client.post(SUGGEST, {"description": "空" * 4001}, content_type="application/json")

    assert missing.status_code == 400 and "description" in missing.json()["fields"]
    assert number.status_code == 400 and "contact_phone" in number.json()["fields"]
    assert long.status_code == 400 and "description" in long.json()["fields"]


@pytest.mark.parametrize("who", ["technician", "partner", "no_role"])
def test_field_roles_and_users_without_a_role_get_404(trained, who, technician, partner_technician):
    user = {"technician": technician.user, "partner": partner_technician.user,
            "no_role": UserFactory(roles=[])}[who]
    wo = WorkOrderFactory(technician=technician if who == "technician" else None, status=Status.ASSIGNED)
    client = api(user)

    assert client.post(SUGGEST, {"description": OBVIOUS}, content_type="application/json").status_code == 404
    assert client.get(f"/api/v1/triage/work-orders/{wo.pk}/").status_code == 404
    assert client.get("/api/v1/triage/model/").status_code == 404


def test_customers_without_an_account_are_refused(trained):
    response = api(None).post(SUGGEST, {"description": OBVIOUS}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert "service_type" not in response.json()


def test_the_api_answers_for_a_taken_order_leaving_itself_out_of_its_duplicates(trained, dispatcher, fixture_types):
    customer = CustomerFactory()
    wo = WorkOrderFactory(customer=customer, description=OBVIOUS, service_type=fixture_types["washer-repair"])
    twin = WorkOrderFactory(customer=customer, description=OBVIOUS + "。")

    body = api(dispatcher).get(f"/api/v1/triage/work-orders/{wo.pk}/").json()

    assert body["service_type"]["code"] == "aircon-repair"
    assert [d["id"] for d in body["duplicates"]] == [twin.pk]
    assert api(dispatcher).get("/api/v1/triage/work-orders/987654/").status_code == 404


def test_the_model_api_gives_the_version_its_accuracy_and_the_acceptance_rate(trained, manager):
    body = api(manager).get("/api/v1/triage/model/").json()

    assert body["version"] == 1 and body["usable"] is True
    assert "aircon-repair" in body["per_class"]
    assert body["acceptance"] == {"shown": 0, "accepted": 0, "rate": None}


# --- the pages -----------------------------------------------------------------------------


def test_a_new_orders_page_shows_the_suggestion_and_accepting_it_sets_the_priority(trained, agent, fixture_types,
                                                                                   settings):
    settings.TRIAGE_MIN_CONFIDENCE = 0.3
    wo = WorkOrderFactory(description=OBVIOUS, service_type=fixture_types["aircon-repair"], priority=1)
    client = api(agent)

    page = client.get(reverse("staff:detail", args=[wo.pk])).content.decode()
    panel = page.split('id="triage-panel"')[1].split("</section>")[0]

    assert 'data-service-type="%d"' % fixture_types["aircon-repair"].pk in panel
    assert "Refrigeration" in panel
    suggested = suggest(OBVIOUS)["priority"]
    assert suggested is not None and suggested["value"] != 1  # the fixture set calls it more urgent than low
    assert "triage-accept" in panel
    form = {"priority": suggested["value"], "model_version": 1,
            "version": html.unescape(panel.split('name="version" value="')[1].split('"')[0])}

    response = client.post(reverse("triage:accept", args=[wo.pk]), form)

    assert response.status_code == 302
    wo.refresh_from_db()
    assert wo.priority == suggested["value"]
    event = WorkOrderEvent.objects.filter(work_order=wo, action="update").get()
    assert event.data["triage"]["accepted"] is True and event.data["changes"]["priority"] == [1, suggested["value"]]


def test_accepting_a_stale_suggestion_changes_nothing(trained, agent, fixture_types):
    wo = WorkOrderFactory(description=OBVIOUS, priority=1)

    response = api(agent).post(reverse("triage:accept", args=[wo.pk]),
                               {"priority": 3, "model_version": 1, "version": '"1"'})

    assert response.status_code == 412
    wo.refresh_from_db()
    assert wo.priority == 1


def test_a_technician_cannot_accept(trained, technician):
    wo = WorkOrderFactory(description=OBVIOUS, priority=1, technician=technician, status=Status.ASSIGNED)
    response = api(technician.user).post(reverse("triage:accept", args=[wo.pk]),
                                         {"priority": 3, "model_version": 1, "version": "x"})
    assert response.status_code == 404
    wo.refresh_from_db()
    assert wo.priority == 1


def test_an_order_past_new_shows_no_panel(trained, dispatcher, technician):
    wo = WorkOrderFactory(description=OBVIOUS, technician=technician, status=Status.ASSIGNED)
    page = api(dispatcher).get(reverse("staff:detail", args=[wo.pk])).content.decode()
    assert 'id="triage-panel"' not in page


def test_a_new_orders_page_says_when_there_is_no_model(agent):
    wo = WorkOrderFactory(description=OBVIOUS)
    page = api(agent).get(reverse("staff:detail", args=[wo.pk])).content.decode()
    panel = page.split('id="triage-panel"')[1].split("</section>")[0]
    assert 'data-reason="no_model"' in panel


def test_the_phone_intake_page_asks_the_api_and_records_whether_the_suggestion_was_accepted(trained, agent,
                                                                                              fixture_types):
    client = api(agent)
    page = client.get(reverse("intake:staff-intake")).content.decode()
    assert f'data-url="{SUGGEST}"' in page and "triage/triage.js" in page

    def take(phone, accepted, service_type):
        return client.post(reverse("intake:staff-intake"), {
            "save": "1", "submission_key": str(uuid.uuid4()), "contact_phone": phone, "contact_name": "Li Lei",
            "address": "1 Hongqiao Road", "service_type": service_type.pk, "priority": 3, "description": OBVIOUS,
            "triage_version": "1", "triage_service_type": str(fixture_types["aircon-repair"].pk),
            "triage_priority": "3", "triage_accepted": accepted,
        })

    assert take("138 0000 0001", "1", fixture_types["aircon-repair"]).status_code == 302
    assert take("138 0000 0002", "0", fixture_types["washer-repair"]).status_code == 302

    events = {e.work_order.contact_phone: e.data["triage"]
              for e in WorkOrderEvent.objects.filter(action="create").select_related("work_order")}
    assert events["+8613800000001"] == {"version": 1, "service_type": fixture_types["aircon-repair"].pk,
                                        "priority": 3, "accepted": True, "kept": True}
    assert events["+8613800000002"]["accepted"] is False and events["+8613800000002"]["kept"] is False
    assert acceptance_rate() == {"shown": 2, "accepted": 1, "rate": 0.5}


def test_an_intake_without_a_suggestion_records_none(agent, service_type):
    response = api(agent).post(reverse("intake:staff-intake"), {
        "save": "1", "contact_phone": "138 0000 0003", "contact_name": "Li Lei", "address": "1 Hongqiao Road",
        "service_type": service_type.pk, "priority": 2, "description": OBVIOUS, "triage_version": "abc",
    })
    assert response.status_code == 302
    assert "triage" not in WorkOrderEvent.objects.get(action="create").data
