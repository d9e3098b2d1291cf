"""The navigation bar is rendered once per role set and language ({% rolefragment %}),
yet every person still sees the links of their own roles, in their own language, with
their own name and a working logout form."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

KB = "/kb/"


def nav(client) -> str:
    page = client.get(KB).content.decode()
    return page[page.index('<header class="topbar">'):page.index("</header>")]


def test_each_role_sees_its_own_links_after_another_role_was_served(agent, dispatcher, manager):
    seen = {}
    for user in (manager, agent, dispatcher, manager, agent):  # the fragments are warm after the first round
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        seen[user.username] = nav(client)

    assert 'href="/staff/work-orders/"' in seen["agent"]
    assert "Dispatch board" not in seen["agent"] and "Reports" not in seen["agent"]
    assert "Dispatch board" in seen["dispatcher"] and "Reports" not in seen["dispatcher"]
    assert "Dispatch board" in seen["manager"] and "Reports" in seen["manager"]
    for name, html in seen.items():
        assert f"({name})" in html  # the username is not part of the kept fragment
        assert 'name="csrfmiddlewaretoken"' in html


def test_anonymous_visitors_get_no_staff_links():
    html = nav(Client(HTTP_ACCEPT_LANGUAGE="en"))
    assert "Work orders" not in html and "Log out" not in html
    assert "Knowledge base" in html


def test_the_same_roles_in_another_language_get_that_language(agent):
    english, chinese = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    english.force_login(agent)
    chinese.force_login(agent)
    assert "Work orders" in nav(english)
    assert "Work orders" not in nav(chinese) and "工单" in nav(chinese)
    assert "Work orders" in nav(english)


def test_each_page_gets_a_fresh_csrf_token_in_the_logout_form(agent):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    first, second = nav(client), nav(client)
    token = 'name="csrfmiddlewaretoken" value="'
    assert first.split(token)[1][:64] != second.split(token)[1][:64]  # masked anew on every page


def test_a_block_inside_a_fragment_is_refused_when_the_template_is_compiled():
    # A child template could not override it: the fragment is kept per role set, not per template.
    from django.template import Engine, TemplateSyntaxError

    engine = Engine(libraries={"fragments": "core.templatetags.fragments"})
    with pytest.raises(TemplateSyntaxError):
        engine.from_string("{% load fragments %}{% rolefragment %}{% block x %}{% endblock %}{% endrolefragment %}")


def test_an_included_template_keys_its_fragments_on_the_same_person(agent, manager):
    from django.template import Context, Engine

    engine = Engine(
        libraries={"fragments": "core.templatetags.fragments"},
        loaders=[("django.template.loaders.locmem.Loader", {
            "page": "{% load fragments %}{% rolefragment %}[{{ is_manager }}]{% endrolefragment %}{% include 'part' %}",
            "part": "{% load fragments %}{% rolefragment %}({{ is_manager }}){% endrolefragment %}",
        })],
    )
    page = engine.get_template("page")
    for user, flag in ((agent, False), (manager, True), (agent, False)):
        assert page.render(Context({"user": user, "is_manager": flag})) == f"[{flag}]({flag})"
