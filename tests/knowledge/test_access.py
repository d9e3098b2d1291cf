"""Who may read which articles: public for everyone, staff and technician articles for their roles."""

import pytest
from django.urls import reverse

from knowledge.models import Audience
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(make_article):
    return {
        "public": make_article(title="Fee schedule", body="Call-out 50 CNY.", audience=Audience.PUBLIC),
        "staff": make_article(title="Complaint escalation", body="Escalate within 30 minutes.", audience=Audience.STAFF),
        "technician": make_article(
            title="R32 refrigerant charging", body="Vacuum for 15 minutes first.", audience=Audience.TECHNICIAN
        ),
    }


def _status(client, article):
    return client.get(reverse("knowledge:detail", args=[article.pk])).status_code


def test_anonymous_reader_sees_public_articles_and_gets_404_for_internal_ones(client, articles):
    assert _status(client, articles["public"]) == 200
    assert _status(client, articles["staff"]) == 404
    assert _status(client, articles["technician"]) == 404


@pytest.mark.parametrize("role_fixture", ["agent", "dispatcher", "manager"])
def test_office_roles_see_staff_articles_but_not_technician_ones(request, client, articles, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    assert _status(client, articles["public"]) == 200
    assert _status(client, articles["staff"]) == 200
    assert _status(client, articles["technician"]) == 404


@pytest.mark.parametrize("role_fixture", ["technician", "partner_technician"])
def test_technicians_see_technician_articles_but_not_staff_ones(request, client, articles, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture).user)
    assert _status(client, articles["public"]) == 200
    assert _status(client, articles["technician"]) == 200
    assert _status(client, articles["staff"]) == 404


def test_superuser_sees_every_audience(client, articles):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert all(_status(client, a) == 200 for a in articles.values())


def test_user_without_a_role_is_treated_like_the_public(client, articles):
    client.force_login(UserFactory())
    assert _status(client, articles["public"]) == 200
    assert _status(client, articles["staff"]) == 404


def test_unpublished_article_is_not_found_even_for_staff(client, agent, make_article):
    draft = make_article(title="Draft fee schedule", audience=Audience.PUBLIC, published=False)
    client.force_login(agent)
    assert _status(client, draft) == 404


def test_browse_and_search_list_only_what_the_reader_may_open(client, articles, technician):
    page = client.get(reverse("knowledge:index")).content.decode()
    assert "Fee schedule" in page
    assert "Complaint escalation" not in page and "R32 refrigerant" not in page

    found = client.get(reverse("knowledge:index"), {"q": "escalation refrigerant fee"}).content.decode()
    assert "Fee schedule" in found and "Complaint escalation" not in found and "R32" not in found

    client.force_login(technician.user)
    found = client.get(reverse("knowledge:index"), {"q": "refrigerant escalation"}).content.decode()
    assert "R32 refrigerant charging" in found and "Complaint escalation" not in found


def test_suggestions_offer_only_public_articles_even_to_staff(client, agent, make_article):
    make_article(title="Aircon leaking water", body="Check the drain hose.", audience=Audience.PUBLIC)
    make_article(title="Aircon leaking water: internal checklist", body="Drain hose.", audience=Audience.STAFF)
    client.force_login(agent)
    data = client.get(reverse("knowledge:suggest"), {"q": "aircon leaking"}).json()
    assert [r["title"] for r in data["results"]] == ["Aircon leaking water"]


def test_voting_on_an_article_one_may_not_see_is_not_found(client, articles):
    response = client.post(reverse("knowledge:helpful", args=[articles["staff"].pk]), {"helpful": "yes"})
    assert response.status_code == 404
    articles["staff"].refresh_from_db()
    assert articles["staff"].helpful_yes == 0
