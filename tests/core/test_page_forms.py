"""The forms every page carries (log out, switch language) work with the page's CSRF token,
and only with it: the token is the one Django's CSRF protection checks."""

import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')
STAFF_LIST = "/staff/work-orders/"


def tokens(page) -> list[str]:
    return TOKEN.findall(page.content.decode())


def browser(user=None) -> Client:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def test_a_first_visit_sets_the_cookie_and_its_forms_carry_matching_64_character_tokens(agent):
    client = browser(agent)
    page = client.get(STAFF_LIST)
    assert page.status_code == 200
    assert settings.CSRF_COOKIE_NAME in page.cookies
    found = tokens(page)
    assert len(found) == 2 and all(len(t) == 64 for t in found)  # logout and language forms
    assert client.post("/i18n/setlang/", {"language": "zh-hans", "next": STAFF_LIST,
                                          "csrfmiddlewaretoken": found[1]}).status_code == 302
    assert "工单" in client.get(STAFF_LIST).content.decode()


def test_logout_works_with_the_token_of_any_page_and_not_without_one(agent):
    client = browser(agent)
    client.get(STAFF_LIST)
    cookie = client.cookies[settings.CSRF_COOKIE_NAME].value
    second = client.get("/kb/")  # the same cookie secret, a new mask
    assert client.cookies[settings.CSRF_COOKIE_NAME].value == cookie
    assert client.post("/accounts/logout/").status_code == 403
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": "x" * 64}).status_code == 403
    assert client.get(STAFF_LIST).status_code == 200  # still logged in
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens(second)[0]}).status_code == 302
    assert client.get(STAFF_LIST).status_code == 302  # to the login page


def test_a_token_from_another_browser_is_refused(agent):
    mine, theirs = browser(agent), browser()
    mine.get(STAFF_LIST)
    their_token = tokens(theirs.get("/kb/"))[0]
    assert mine.post("/accounts/logout/", {"csrfmiddlewaretoken": their_token}).status_code == 403


def test_anonymous_pages_switch_language_with_their_token():
    client = browser()
    page = client.get("/kb/")
    (token,) = tokens(page)
    assert client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/kb/",
                                          "csrfmiddlewaretoken": token}).status_code == 302
    assert client.get("/kb/").content.decode().count('lang="en">English</button>') == 1
