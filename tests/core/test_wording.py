"""Words the users read: events named, units in the page's language, the flow's own terms
(超时升级 for an SLA escalation, 回访 for the call-back step)."""

import pytest
from django.test import Client
from django.urls import reverse

from catalog.units import unit_label
from tests.factories import PartFactory
from tests.technicians.helpers import job_for
from workorders.lifecycle import Status, event_label
from workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


def page(user, url, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client.get(url).content.decode()


@pytest.mark.parametrize("language, label", [("en", "Survey answered"), ("zh-hans", "回访已答复")])
def test_the_technicians_job_history_names_the_survey_event(technician, language, label):
    job = job_for(technician, status=Status.ACCEPTED)
    WorkOrderEvent.objects.create(work_order=job, action="survey", to_status=job.status, from_status=job.status)
    html = page(technician.user, reverse("tech:job", args=[job.pk]), language)
    assert f"<strong>{label}</strong>" in html
    assert "<strong>survey</strong>" not in html


@pytest.mark.parametrize("language, unit", [("en", "/pcs<"), ("zh-hans", "/个<")])
def test_the_parts_list_on_the_completion_form_shows_units_in_the_pages_language(technician, language, unit):
    PartFactory(name="Run capacitor", unit="pcs", unit_price=48)
    job = job_for(technician, status=Status.IN_PROGRESS)
    html = page(technician.user, reverse("tech:complete", args=[job.pk]), language)
    assert f"Run capacitor ¥48.00{unit}" in html


def test_units_not_in_the_list_are_shown_as_typed():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert unit_label("KG") == "千克" and unit_label("bag") == "bag" and unit_label(None) == ""


def test_the_escalations_page_says_chao_shi_sheng_ji(dispatcher):
    html = page(dispatcher, "/staff/escalations/", "zh-hans")
    assert "超时升级" in html


def test_every_event_has_a_name_in_both_languages():
    from django.utils import translation

    from workorders.lifecycle import OTHER_EVENT_LABELS, TRANSITIONS

    for action in [*TRANSITIONS, *OTHER_EVENT_LABELS]:
        with translation.override("zh-hans"):
            chinese = event_label(action)
        with translation.override("en"):
            english = event_label(action)
        assert chinese != action and english != action and chinese != english, action


def test_sla_escalations_read_chao_shi_sheng_ji_and_the_survey_follow_up_hui_fang():
    from django.utils import translation
    from django.utils.translation import gettext, ngettext

    with translation.override("zh-hans"):
        assert gettext("Escalation") == "超时升级"
        assert gettext("Escalation raised") == "已触发超时升级"
        assert gettext("No call-backs, complaints or escalations.") == "没有回访、投诉或超时升级。"
        assert "超时升级" in ngettext("%(n)d escalation acknowledged.", "%(n)d escalations acknowledged.", 2)
        sorry = gettext("We are sorry %(number)s did not go as it should. A service manager will call you back soon.")
        assert "回访" in sorry and "回电" not in sorry
