"""The satisfaction survey: sent on resolve, answered once on a phone, closes or flags a call-back."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import Conflict, Forbidden, NotFound
from tests.factories import (
    CustomerFactory,
    ServiceTypeFactory,
    TechnicianFactory,
    UserFactory,
    workorder_via_service,
)
from workorders.lifecycle import Status
from notifications.models import Notification
from sla.models import SlaPolicy
from workorders.models import Survey, WorkOrder, WorkOrderEvent
from workorders.services import workorder_transition
from workorders.survey import (
    survey_answer,
    survey_expire_due,
    survey_record_callback,
    survey_send_reminders,
    workorder_send_survey,
)


@pytest.fixture(autouse=True)
def _links(settings, db):
    settings.PUBLIC_BASE_URL = "https://service.example.com"
    SlaPolicy.objects.all().delete()


def resolved_order(**kw):
    tech = TechnicianFactory()
    wo = workorder_via_service(**kw)
    workorder_transition(work_order_id=wo.pk, action="assign", actor_role="system", technician_id=tech.pk)
    for action in ("accept", "depart", "arrive"):
        workorder_transition(work_order_id=wo.pk, action=action, actor=tech.user)
    return workorder_transition(work_order_id=wo.pk, action="complete", actor=tech.user)


def good(**kw):
    return {"satisfaction": 5, "solved": True, "recommend": 9, "comment": "Quick and tidy.", **kw}


def posted(answer):
    """The answer as the page's form sends it."""
    return {**answer, "solved": "yes" if answer["solved"] else "no"}


def test_resolving_moves_the_order_to_follow_up_and_texts_the_survey_link():
    wo = resolved_order()
    assert wo.status == Status.FOLLOW_UP
    assert list(WorkOrderEvent.objects.filter(work_order=wo).values_list("action", "actor_role"))[-2:] == [
        ("complete", "technician"), ("follow_up", "system"),
    ]
    survey = Survey.objects.get(work_order=wo)
    assert len(survey.token) >= 32
    assert survey.expires_at - survey.created_at == timedelta(days=14)
    invite = Notification.objects.get(subject_id=wo.pk, template="survey_invite")
    assert invite.channel == "sms" and invite.recipient == wo.contact_phone
    assert invite.payload["link"] == f"https://service.example.com/survey/{survey.token}/"


def test_a_service_type_that_needs_a_review_waits_for_the_manager_before_the_survey(manager):
    wo = resolved_order(service_type=ServiceTypeFactory(requires_review=True))
    assert wo.status == Status.RESOLVED and not Survey.objects.filter(work_order=wo).exists()
    wo = workorder_send_survey(work_order_id=wo.pk, actor=manager)
    assert wo.status == Status.FOLLOW_UP
    assert Survey.objects.filter(work_order=wo, status="open").count() == 1


def test_the_survey_page_works_without_login_and_a_good_answer_closes_the_order(client):
    wo = resolved_order(customer=CustomerFactory(language="en"), language="en")
    survey = Survey.objects.get(work_order=wo)
    page = client.get(f"/survey/{survey.token}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'lang="en"' in html and "Was the problem solved?" in html and wo.number in html

    done = client.post(f"/survey/{survey.token}/", posted(good()))
    assert done.status_code == 200 and "is now closed" in done.content.decode()
    wo.refresh_from_db()
    assert wo.status == Status.CLOSED
    close = WorkOrderEvent.objects.get(work_order=wo, action="close")
    assert close.actor_role == "customer" and close.data["satisfaction"] == 5
    survey.refresh_from_db()
    assert (survey.status, survey.satisfaction, survey.solved, survey.recommend) == ("answered", 5, True, 9)
    assert survey.comment == "Quick and tidy."


def test_a_second_answer_is_refused_politely_and_changes_nothing(client):
    wo = resolved_order(customer=CustomerFactory(language="en"), language="en")
    token = Survey.objects.get(work_order=wo).token
    client.post(f"/survey/{token}/", posted(good()))
    again = client.post(f"/survey/{token}/", posted(good(satisfaction=1, solved=False, comment="changed my mind")))
    assert again.status_code == 200 and "We already have your answer" in again.content.decode()
    survey = Survey.objects.get(token=token)
    assert (survey.satisfaction, survey.comment) == (5, "Quick and tidy.")
    with pytest.raises(Conflict):
        survey_answer(token=token, **good())


def test_a_wrong_link_and_an_expired_link_get_a_polite_page_and_change_nothing(client):
    wo = resolved_order(customer=CustomerFactory(language="en"), language="en")
    survey = Survey.objects.get(work_order=wo)
    wrong = client.get("/survey/not-a-real-token/")
    assert wrong.status_code == 404 and "We could not find this survey" in wrong.content.decode()
    with pytest.raises(NotFound):
        survey_answer(token="not-a-real-token", **good())

    with time_machine.travel(survey.expires_at + timedelta(minutes=1), tick=False):
        expired = client.post(f"/survey/{survey.token}/", posted(good()))
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    survey.refresh_from_db()
    wo.refresh_from_db()
    assert (survey.status, survey.satisfaction, wo.status) == ("open", None, Status.FOLLOW_UP)


def test_a_missing_answer_shows_the_form_again_with_the_error(client):
    wo = resolved_order(customer=CustomerFactory(language="en"), language="en")
    token = Survey.objects.get(work_order=wo).token
    page = client.post(f"/survey/{token}/", {"solved": "yes"})
    assert page.status_code == 400 and "This field is required" in page.content.decode()
    assert Survey.objects.get(token=token).status == "open"


@pytest.mark.parametrize("answer", [good(satisfaction=2), good(satisfaction=5, solved=False)],
                         ids=["dissatisfied", "not solved"])
def test_a_low_answer_keeps_follow_up_flags_a_call_back_and_tells_the_managers(answer, settings):
    settings.NOTIFY_WEBHOOK_URL = "http://127.0.0.1:9/robot"
    UserFactory(username="boss", email="boss@example.com", roles=["manager"])
    wo = resolved_order()
    survey = survey_answer(token=Survey.objects.get(work_order=wo).token, **answer)
    wo.refresh_from_db()
    assert wo.status == Status.FOLLOW_UP
    assert survey.needs_callback and survey.callback_at is None
    told = Notification.objects.filter(subject_id=wo.pk, template="survey_low")
    assert sorted(told.values_list("channel", "recipient")) == [("email", "boss@example.com"), ("webhook", "")]


def test_the_manager_calls_back_then_closes_or_reopens_on_the_escalations_page(client, manager, dispatcher):
    first, second = resolved_order(), resolved_order()
    low = [survey_answer(token=Survey.objects.get(work_order=wo).token, **good(satisfaction=1))
           for wo in (first, second)]

    client.force_login(dispatcher)
    page = client.get("/staff/escalations/").content.decode()
    assert first.number in page and "Close the order" not in page  # dispatchers see, managers act
    with pytest.raises(Forbidden):
        survey_record_callback(survey_id=low[0].pk, actor=dispatcher, note="x", outcome="close")

    client.force_login(manager)
    assert "Close the order" in client.get("/staff/escalations/").content.decode()
    client.post(f"/staff/escalations/callbacks/{low[0].pk}/", {"note": "Apologised; it works now.", "outcome": "close"})
    client.post(f"/staff/escalations/callbacks/{low[1].pk}/", {"note": "Still leaking.", "outcome": "reopen"},
                follow=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.CLOSED, Status.NEW)
    assert WorkOrderEvent.objects.get(work_order=second, action="reopen").note == "Still leaking."
    low[0].refresh_from_db()
    assert (low[0].callback_by, low[0].callback_outcome) == (manager, "close")
    assert first.number not in client.get("/staff/escalations/").content.decode()
    # A recorded call-back is not recorded twice.
    with pytest.raises(Conflict):
        survey_record_callback(survey_id=low[0].pk, actor=manager, note="again", outcome="close")


def test_one_reminder_after_48_hours_without_an_answer_and_none_after_an_answer():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        quiet, answered = resolved_order(), resolved_order()
    survey_answer(token=Survey.objects.get(work_order=answered).token, **good(), now=start + timedelta(hours=1))

    assert survey_send_reminders(now=start + timedelta(hours=47)) == 0
    assert survey_send_reminders(now=start + timedelta(hours=48)) == 1
    assert survey_send_reminders(now=start + timedelta(hours=72)) == 0
    reminders = Notification.objects.filter(template="survey_reminder")
    assert list(reminders.values_list("subject_id", flat=True)) == [quiet.pk]


def test_no_answer_by_expiry_closes_the_order_by_itself():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        wo = resolved_order()
    assert survey_expire_due(now=start + timedelta(days=13, hours=23)) == 0
    assert survey_expire_due(now=start + timedelta(days=14)) == 1
    wo.refresh_from_db()
    assert wo.status == Status.CLOSED
    close = WorkOrderEvent.objects.get(work_order=wo, action="close")
    assert close.actor_role == "system" and close.data["expired"] is True
    assert Survey.objects.get(work_order=wo).status == "expired"
    assert survey_expire_due(now=start + timedelta(days=15)) == 0


def test_a_reopened_order_gets_a_new_survey_and_the_old_link_stops_working(manager):
    wo = resolved_order()
    old = Survey.objects.get(work_order=wo)
    workorder_transition(work_order_id=wo.pk, action="reopen", actor=manager, note="Came back")
    with pytest.raises(Conflict):
        survey_answer(token=old.token, **good())
    assert WorkOrder.objects.get(pk=wo.pk).status == Status.NEW
