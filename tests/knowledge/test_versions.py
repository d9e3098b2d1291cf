"""Every save leaves a version: who changed what, and when (pages, scripts and admin alike)."""

import pytest
from django.urls import reverse

from knowledge.models import Article, ArticleVersion, Audience, Category
from knowledge.services import article_update
from tests.factories import ServiceTypeFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_creating_an_article_records_version_one_with_its_author(make_article, agent):
    article = make_article(title="上门费多少钱", body="市区 50 元。", tags=["收费"], actor=agent, note="first draft")
    version = article.versions.get()
    assert (version.number, version.changed_by, version.note) == (1, agent, "first draft")
    assert version.title == "上门费多少钱" and version.tags == "收费"
    assert "title" in version.changed_fields and "body" in version.changed_fields
    assert article.version == 1 and article.created_by == agent


def test_an_edit_records_who_changed_which_fields(make_article, agent, manager):
    article = make_article(title="Fee schedule", body="Call-out 50 CNY.", actor=agent)
    st = ServiceTypeFactory()

    article_update(article_id=article.pk, actor=manager, body="Call-out 60 CNY.", service_types=[st], note="2027 prices")

    latest = ArticleVersion.objects.filter(article=article).order_by("-number").first()
    assert latest.number == 2
    assert latest.changed_by == manager
    assert latest.changed_fields == ["body", "service_types"]
    assert latest.note == "2027 prices"
    assert latest.body == "Call-out 60 CNY." and latest.service_types == st.name
    article.refresh_from_db()
    assert article.updated_by == manager and article.version == 2
    assert "60 CNY" in article.body_html
    # The first version still shows the text as it was.
    assert article.versions.get(number=1).body == "Call-out 50 CNY."


def test_saving_without_a_change_adds_no_version(make_article, agent):
    article = make_article(title="Fee schedule", body="Call-out 50 CNY.", actor=agent)
    article_update(article_id=article.pk, actor=agent, title="Fee schedule", body="Call-out 50 CNY.")
    assert article.versions.count() == 1


def test_publishing_is_a_change_in_the_history(make_article, manager):
    article = make_article(title="Draft", body="text", published=False)
    article_update(article_id=article.pk, actor=manager, published=True)
    assert article.versions.get(number=2).changed_fields == ["published"]


def test_a_save_in_the_admin_goes_through_the_service_and_is_versioned(client):
    admin_user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    category = Category.objects.create(name="费用与保修", slug="fees")
    form = {
        "title": "保修政策",
        "summary": "",
        "body": "整机保修一年。<script>alert(1)</script>",
        "change_note": "new article",
        "category": category.pk,
        "audience": Audience.PUBLIC,
        "equipment_models": "kfr-35gw, kfr-26gw",
        "published": "on",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    response = client.post(reverse("admin:knowledge_article_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(title="保修政策")
    assert "<script" not in article.body_html
    assert article.equipment_models == "KFR-35GW,KFR-26GW"
    assert article.versions.get().changed_by == admin_user
    assert article.versions.get().note == "new article"

    form.update(title="保修政策（2027）", change_note="new year")
    response = client.post(reverse("admin:knowledge_article_change", args=[article.pk]), form)
    assert response.status_code == 302
    v2 = article.versions.get(number=2)
    assert v2.changed_fields == ["title"] and v2.note == "new year"

    # The history is visible on the admin page.
    page = client.get(reverse("admin:knowledge_article_change", args=[article.pk])).content.decode()
    assert "new year" in page and "new article" in page
