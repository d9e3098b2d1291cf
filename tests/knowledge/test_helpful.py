"""'Was this helpful?': one answer per browser session and article, counted in the database."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from knowledge.models import Article
from knowledge.services import article_vote

pytestmark = pytest.mark.django_db


def _vote(client, article, answer):
    return client.post(reverse("knowledge:helpful", args=[article.pk]), {"helpful": answer}, follow=True)


def test_yes_and_no_are_counted_separately(client, make_article):
    article = make_article()
    _vote(client, article, "yes")
    _vote(Client(), article, "no")
    _vote(Client(), article, "yes")
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (2, 1)


def test_a_second_answer_from_the_same_browser_is_not_counted(client, make_article):
    article = make_article()
    _vote(client, article, "yes")
    page = _vote(client, article, "no").content.decode()
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (1, 0)
    assert "Thank you" in page or "谢谢" in page or "感谢" in page


def test_the_page_shows_the_count_and_hides_the_buttons_after_answering(client, make_article):
    article = make_article()
    page = client.get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    assert 'name="helpful" value="yes"' in page
    _vote(client, article, "yes")
    page = client.get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    assert 'name="helpful" value="yes"' not in page


def test_an_answer_other_than_yes_or_no_is_ignored(client, make_article):
    article = make_article()
    _vote(client, article, "maybe")
    article.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no) == (0, 0)


def test_voting_needs_post(client, make_article):
    article = make_article()
    assert client.get(reverse("knowledge:helpful", args=[article.pk])).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_concurrent_votes_are_all_counted(make_article):
    article = make_article()
    barrier = threading.Barrier(8)

    def vote():
        try:
            barrier.wait()
            article_vote(article_id=article.pk, helpful=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=vote) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert Article.objects.get(pk=article.pk).helpful_yes == 8
