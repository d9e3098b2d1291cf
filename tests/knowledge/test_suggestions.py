"""Suggestions: 'these may solve it' on the public form, and articles for a work order."""

import pytest
from django.urls import reverse

from knowledge.models import Article, Audience
from knowledge.selectors import article_suggestions_for_work_order
from knowledge.services import suggestion_outcome_record
from tests.factories import EquipmentFactory, ServiceTypeFactory, WorkOrderFactory

pytestmark = pytest.mark.django_db


def test_suggest_returns_matching_public_articles_with_links(client, make_article):
    article = make_article(title="空调室内机漏水怎么办", body="排水管堵塞。")
    make_article(title="冰箱冷藏室不制冷", body="检查温度设置。")
    data = client.get(reverse("knowledge:suggest"), {"q": "空调漏水"}).json()
    assert data["results"] == [
        {"id": article.pk, "title": "空调室内机漏水怎么办", "summary": "",
         "url": f"/kb/{article.pk}/?from=suggest"}
    ]


def test_suggest_puts_articles_for_the_chosen_service_type_first(client, make_article):
    washer = ServiceTypeFactory(code="washer-repair")
    general = make_article(title="Leaking water: what to check", body="Leaking water under an appliance.")
    for_washer = make_article(title="Washer leaking", body="Inlet hose.", service_types=[washer])
    titles = [r["title"] for r in client.get(
        reverse("knowledge:suggest"), {"q": "leaking water", "service_type": washer.pk}
    ).json()["results"]]
    assert titles[0] == for_washer.title and general.title in titles


def test_suggest_with_an_unknown_service_type_is_a_clear_400(client):
    response = client.get(reverse("knowledge:suggest"), {"q": "leak", "service_type": "abc"})
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert client.get(reverse("knowledge:suggest"), {"q": "leak", "service_type": "99999"}).status_code == 400


def test_suggest_with_an_empty_description_suggests_nothing(client, make_article):
    make_article()
    assert client.get(reverse("knowledge:suggest"), {"q": ""}).json() == {"results": []}


def test_opening_a_suggestion_is_counted_once_per_browser(client, make_article):
    article = make_article()
    url = reverse("knowledge:detail", args=[article.pk]) + "?from=suggest"
    client.get(url)
    client.get(url)
    client.get(reverse("knowledge:detail", args=[article.pk]))
    article.refresh_from_db()
    assert article.suggestion_opens == 1


def test_outcome_records_what_was_shown_and_opened_when_the_customer_still_submits(make_article):
    shown = make_article(title="A")
    opened = make_article(title="B")
    internal = make_article(title="C", audience=Audience.STAFF)
    work_order = WorkOrderFactory()

    outcome = suggestion_outcome_record(
        work_order=work_order, shown=f"{shown.pk},{opened.pk},{internal.pk},junk,-1", opened=str(opened.pk)
    )

    assert set(outcome.shown.values_list("pk", flat=True)) == {shown.pk, opened.pk}
    assert list(outcome.opened.values_list("pk", flat=True)) == [opened.pk]
    # A replayed submission keeps the first record.
    again = suggestion_outcome_record(work_order=work_order, shown=str(shown.pk))
    assert again.pk == outcome.pk and again.shown.count() == 2


def test_no_outcome_when_nothing_was_shown():
    assert suggestion_outcome_record(work_order=WorkOrderFactory(), shown="", opened="") is None


def test_work_order_suggestions_put_the_exact_model_first_and_respect_the_audience(make_article):
    ac = ServiceTypeFactory(code="ac-repair")
    equipment = EquipmentFactory(model="KFR-35GW")
    work_order = WorkOrderFactory(service_type=ac, equipment=equipment, customer=equipment.customer,
                                  site=equipment.site, description="E4 故障，压缩机不启动")
    for_model = make_article(title="E4 on KFR-35GW", body="压缩机驱动", audience=Audience.TECHNICIAN,
                             equipment_models="kfr-26gw, kfr-35gw")
    for_type_public = make_article(title="空调不制冷", body="滤网", service_types=[ac])
    for_type_tech = make_article(title="R32 charging", body="抽真空", audience=Audience.TECHNICIAN, service_types=[ac])
    staff_only = make_article(title="Complaints", body="升级", audience=Audience.STAFF, service_types=[ac])
    make_article(title="Other type", body="x", service_types=[ServiceTypeFactory(code="washer")])
    make_article(title="Similar model", body="x", audience=Audience.TECHNICIAN, equipment_models="KFR-35GW2")

    for_tech = article_suggestions_for_work_order(work_order, "technician")
    assert [a.title for a in for_tech] == [for_model.title, for_type_tech.title, for_type_public.title]

    for_staff = article_suggestions_for_work_order(work_order, "staff")
    assert [a.title for a in for_staff] == [staff_only.title, for_type_public.title]


def test_work_order_suggestions_take_a_fixed_number_of_queries(make_article, django_assert_max_num_queries):
    ac = ServiceTypeFactory(code="ac-repair")
    for n in range(8):
        make_article(title=f"AC article {n}", body="x", service_types=[ac], audience=Audience.TECHNICIAN)
    work_order = WorkOrderFactory(service_type=ac, description="aircon not cooling")
    with django_assert_max_num_queries(3):
        found = article_suggestions_for_work_order(work_order, "technician")
        [a.category for a in found]
    assert len(found) == 5
    assert Article.objects.count() == 8


def test_agents_intake_can_ask_for_staff_articles_too_but_customers_cannot(client, agent, make_article):
    make_article(title="Aircon leaking water", body="Check the drain hose.", audience=Audience.PUBLIC)
    make_article(title="Aircon leaking: what to ask the caller", body="Drain hose.", audience=Audience.STAFF)
    params = {"q": "aircon leaking", "audience": "staff"}
    anonymous = [r["title"] for r in client.get(reverse("knowledge:suggest"), params).json()["results"]]
    assert anonymous == ["Aircon leaking water"]
    client.force_login(agent)
    for_agent = {r["title"] for r in client.get(reverse("knowledge:suggest"), params).json()["results"]}
    assert for_agent == {"Aircon leaking water", "Aircon leaking: what to ask the caller"}
