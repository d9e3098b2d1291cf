"""Suggestions where they help: under the customer's description on /request/, on the agents'
phone intake, and on the technician's job page; and what the customer did after reading them."""

import re
import uuid
from html import unescape

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from knowledge.models import Audience, Category, SuggestionOutcome
from knowledge.selectors import article_suggestion_outcomes
from knowledge.services import MAX_SUGGESTION_IDS, suggestion_ids_parse
from tests.concurrency import race
from tests.factories import EquipmentFactory, ServiceTypeFactory
from tests.technicians.helpers import job_for
from tests.workorders.test_intake_public import form_data
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

REQUEST_URL = "/request/"
STAFF_URL = "/staff/work-orders/new/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Every test request comes from 127.0.0.1: start each test with no count."""


@pytest.fixture
def aircon(db):
    return ServiceTypeFactory(code="ac-repair", name="Air conditioner repair")


@pytest.fixture
def articles(make_article, aircon):
    """One article of each audience about a leaking air conditioner, and one not yet published."""
    return {
        "public": make_article(title="Aircon leaking water", body="Clean the drain hose.", service_types=[aircon]),
        "public2": make_article(title="Aircon drips after cleaning", body="Leaking water from the filter."),
        "staff": make_article(title="Aircon leaking: what to ask the caller", body="Drain hose, leaking water.",
                              audience=Audience.STAFF, service_types=[aircon]),
        "technician": make_article(title="Aircon leaking: refrigerant line check", body="Leaking water, drain pump.",
                                   audience=Audience.TECHNICIAN, service_types=[aircon]),
        "draft": make_article(title="Aircon leaking (draft)", body="Leaking water.", published=False),
    }


def textarea_attrs(html: str, name: str = "description") -> dict:
    """The attributes of the page's textarea ``name`` (what static/knowledge/suggest.js reads)."""
    tag = re.search(r'<textarea[^>]*name="%s"[^>]*>' % name, html).group(0)
    return {key: unescape(value) for key, value in re.findall(r'([\w-]+)(?:="([^"]*)")?', tag[len("<textarea"):-1])}


def hidden_value(html: str, name: str) -> str:
    return re.search(r'<input type="hidden" name="%s" value="([^"]*)">' % name, html).group(1)


def suggested_titles(client, html, q, service_type=None) -> list[str]:
    """What the page's script shows for ``q``: it asks the URL and audience the textarea names."""
    attrs = textarea_attrs(html)
    params = {"q": q}
    if service_type is not None:
        params["service_type"] = service_type.pk
    if attrs.get("data-kb-suggest-audience"):
        params["audience"] = attrs["data-kb-suggest-audience"]
    response = client.get(attrs["data-kb-suggest-url"], params, headers={"accept": "application/json"})
    assert response.status_code == 200
    return [r["title"] for r in response.json()["results"]]


def outcome_of(work_order):
    outcome = SuggestionOutcome.objects.get(work_order_ref=work_order.pk)
    return set(outcome.shown.values_list("pk", flat=True)), set(outcome.opened.values_list("pk", flat=True))


# --- The customer's request form -----------------------------------------------------------------------


def test_the_request_form_suggests_public_articles_under_the_description(client, aircon, articles):
    html = client.get(REQUEST_URL).content.decode()

    attrs = textarea_attrs(html)
    assert "data-kb-suggest" in attrs
    assert attrs["data-kb-service-type"] == "service_type" and 'name="service_type"' in html
    assert attrs["data-kb-suggest-label"] == "These may solve it:"
    assert "data-kb-suggest-audience" not in attrs
    script = re.search(r'<script src="/static/(knowledge/suggest\.js)"', html)
    assert script and finders.find(script.group(1))
    assert '<link rel="stylesheet" href="/static/knowledge/kb.css">' in html
    assert hidden_value(html, "kb_shown") == "" and hidden_value(html, "kb_opened") == ""
    # What the script finds there for the customer: public articles, the chosen type's first
    titles = suggested_titles(client, html, "aircon leaking water", service_type=aircon)
    assert titles[0] == "Aircon leaking water" and "Aircon drips after cleaning" in titles
    assert not {articles[k].title for k in ("staff", "technician", "draft")} & set(titles)


def test_a_customer_who_still_submits_is_recorded_with_what_was_shown_and_opened(client, aircon, articles):
    shown, opened = articles["public"], articles["public2"]

    response = client.post(REQUEST_URL, form_data(aircon, kb_shown=f"{shown.pk},{opened.pk}",
                                                     kb_opened=str(opened.pk)))

    assert response.status_code == 302
    work_order = WorkOrder.objects.get()
    assert response.url == reverse("intake:request-done", args=[work_order.public_token])
    assert outcome_of(work_order) == ({shown.pk, opened.pk}, {opened.pk})


@pytest.mark.parametrize(
    "junk",
    ["abc", "²,³", "99999999999999999999", "2147483648", "-1", "0", "1e3", "<script>", ",,,", " 1 2 "],
)
def test_junk_in_the_suggestion_fields_is_ignored_and_the_request_made_once(client, aircon, articles, junk):
    public, staff, tech, draft = (articles[k] for k in ("public", "staff", "technician", "draft"))
    shown = f"{junk},{staff.pk},{tech.pk},{draft.pk},987654,{public.pk}"
    data = form_data(aircon, kb_shown=shown, kb_opened=f"{junk},{tech.pk},{public.pk}")

    first = client.post(REQUEST_URL, data)
    replay = client.post(REQUEST_URL, data)  # a double click sends the same form again

    assert first.status_code == replay.status_code == 302 and first.url == replay.url
    work_order = WorkOrder.objects.get()
    assert outcome_of(work_order) == ({public.pk}, {public.pk})
    assert SuggestionOutcome.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_at_the_same_moment_makes_one_request_and_one_record(aircon, articles):
    public, public2 = articles["public"], articles["public2"]
    data = form_data(aircon, kb_shown=f"{public.pk},{public2.pk}", kb_opened=str(public2.pk))

    def post():
        response = Client().post(REQUEST_URL, data)
        return response.status_code, response.get("Location")

    answers = race([post, post])

    assert answers[0] == answers[1] and answers[0][0] == 302
    assert outcome_of(WorkOrder.objects.get()) == ({public.pk, public2.pk}, {public2.pk})
    assert SuggestionOutcome.objects.count() == 1


def test_only_junk_or_no_script_at_all_still_makes_the_request_and_records_nothing(client, aircon, articles):
    tech = articles["technician"]
    huge = ",".join(str(n) for n in range(10**6, 10**6 + 50_000))  # ids of no article

    junk = client.post(REQUEST_URL, form_data(aircon, kb_shown=f"x,{tech.pk},{huge}", kb_opened="²"))
    # no hidden fields at all (another caller: the same phone and problem would join the first)
    without_script = client.post(REQUEST_URL, form_data(aircon, contact_phone="139 1234 5678"))

    assert junk.status_code == without_script.status_code == 302
    assert WorkOrder.objects.count() == 2
    assert SuggestionOutcome.objects.count() == 0


def test_a_form_with_errors_keeps_the_articles_seen_so_far_for_the_corrected_submit(client, aircon, articles):
    public, public2 = articles["public"], articles["public2"]
    data = form_data(aircon, contact_phone="12", kb_shown=f"{public.pk},junk,{public2.pk}",
                        kb_opened=f'{public.pk}"><script>')

    response = client.post(REQUEST_URL, data)

    assert response.status_code == 400 and WorkOrder.objects.count() == 0
    html = response.content.decode()
    assert hidden_value(html, "kb_shown") == f"{public.pk},{public2.pk}"
    assert hidden_value(html, "kb_opened") == ""  # not an id: dropped, never echoed
    assert "<script>" not in html.split("<main>")[1].split("</form>")[0]
    # The corrected form sends those fields back and is recorded with them
    data.update(contact_phone="138 1234 5678", kb_shown=hidden_value(html, "kb_shown"), kb_opened=str(public.pk))
    assert client.post(REQUEST_URL, data).status_code == 302
    assert outcome_of(WorkOrder.objects.get()) == ({public.pk, public2.pk}, {public.pk})


def test_the_suggestion_fields_keep_at_most_twenty_distinct_ids():
    raw = ",".join(["5", "5", "²", " 7 ", "٣"] + [str(n) for n in range(100, 200)])
    ids = suggestion_ids_parse(raw)
    assert ids[:2] == [5, 7] and len(ids) == MAX_SUGGESTION_IDS == 20 and ids[-1] == 117


def test_customers_who_opened_an_article_and_did_not_submit_can_be_counted(client, aircon, articles, agent):
    article = articles["public"]
    open_url = reverse("knowledge:detail", args=[article.pk]) + "?from=suggest"
    # Given one customer who opens the suggestion and leaves without asking for a visit,
    Client().get(open_url)
    # another who opens it, reads it twice, and still submits,
    submitting = Client()
    submitting.get(open_url)
    submitting.get(open_url)
    submitting.post(REQUEST_URL, form_data(aircon, kb_shown=f"{article.pk},{articles['public2'].pk}",
                                              kb_opened=str(article.pk)))
    # a third who is shown it and submits without opening it,
    Client().post(REQUEST_URL, form_data(aircon, contact_phone="139 1234 5678", kb_shown=str(article.pk)))
    # and an agent opening it from the phone intake (not a customer)
    staff_browser = Client()
    staff_browser.force_login(agent)
    staff_browser.get(open_url)

    counts = {a.pk: a for a in article_suggestion_outcomes()}

    assert WorkOrder.objects.count() == 2
    row = counts[article.pk]
    assert (row.suggestion_opens, row.shown_submitted, row.opened_submitted, row.opened_not_submitted) == (2, 2, 1, 1)
    other = counts[articles["public2"].pk]
    assert (other.suggestion_opens, other.shown_submitted, other.opened_not_submitted) == (0, 1, 0)
    assert articles["staff"].pk not in counts and articles["technician"].pk not in counts


# --- The agents' phone intake --------------------------------------------------------------------------


def test_the_phone_intake_suggests_staff_articles_as_well_to_the_agent(client, agent, aircon, articles):
    client.force_login(agent)
    html = client.get(STAFF_URL).content.decode()

    attrs = textarea_attrs(html)
    assert "data-kb-suggest" in attrs and attrs["data-kb-suggest-audience"] == "staff"
    assert attrs["data-kb-service-type"] == "service_type"
    assert re.search(r'<script src="/static/knowledge/suggest\.js"', html)
    assert re.search(r'<script src="/static/js/intake\.js"', html)  # the caller look-up stays

    titles = suggested_titles(client, html, "aircon leaking water", service_type=aircon)

    assert {"Aircon leaking: what to ask the caller", "Aircon leaking water"} <= set(titles)
    assert articles["technician"].title not in titles and articles["draft"].title not in titles


def test_an_agents_request_is_made_as_before_and_records_no_customer_outcome(client, agent, aircon, articles):
    client.force_login(agent)
    data = {
        "submission_key": str(uuid.uuid4()), "contact_phone": "138 1234 5678", "contact_name": "Zhou Min",
        "contact_email": "", "site": "", "address": "12 Lotus Road", "equipment": "",
        "service_type": aircon.pk, "description": "Aircon leaking water", "priority": WorkOrder.Priority.HIGH,
        "save": "1", "kb_shown": str(articles["public"].pk), "kb_opened": "junk",
    }

    response = client.post(STAFF_URL, data)

    work_order = WorkOrder.objects.get()
    assert response.status_code == 302 and response.url == reverse("staff:detail", args=[work_order.pk])
    assert work_order.channel == WorkOrder.Channel.PHONE and work_order.created_by == agent
    assert SuggestionOutcome.objects.count() == 0


# --- The technician's job page -------------------------------------------------------------------------


@pytest.fixture
def compressor_job(technician, aircon):
    equipment = EquipmentFactory(model="KFR-35GW")
    return job_for(technician, service_type=aircon, customer=equipment.customer, site=equipment.site,
                   equipment=equipment, description="E4 fault, compressor does not start")


def test_the_job_page_lists_articles_for_its_service_type_and_equipment_model(
    client, technician, compressor_job, make_article, aircon
):
    for_model = make_article(title="E4 on KFR-35GW", body="Compressor driver board.", audience=Audience.TECHNICIAN,
                             equipment_models="KFR-26GW,KFR-35GW", summary="Check the driver board first.")
    for_type = make_article(title="Aircon not cooling", body="Filter.", service_types=[aircon])
    tech_for_type = make_article(title="R32 charging", body="Vacuum first.", audience=Audience.TECHNICIAN,
                                 service_types=[aircon])
    staff_only = make_article(title="Complaint handling", body="Escalate.", audience=Audience.STAFF,
                              service_types=[aircon])
    other_type = make_article(title="Washer drum noise", body="Bearings.", audience=Audience.TECHNICIAN,
                              service_types=[ServiceTypeFactory(code="washer")])
    other_model = make_article(title="KFR-35GW2 panel", body="x", audience=Audience.TECHNICIAN,
                               equipment_models="KFR-35GW2")
    client.force_login(technician.user)

    html = client.get(reverse("tech:job", args=[compressor_job.pk])).content.decode()

    section = html[html.index('id="kb-articles"'):]
    section = section[: section.index("</section>")]
    positions = [section.index(a.title) for a in (for_model, tech_for_type, for_type)]
    assert positions == sorted(positions)  # the exact model first, then the technicians' own
    assert "Check the driver board first." in section
    assert reverse("knowledge:detail", args=[for_model.pk]) in section
    for absent in (staff_only, other_type, other_model):
        assert absent.title not in section
    # The technician can open the technician article; a customer cannot, nor is it suggested to one
    assert client.get(reverse("knowledge:detail", args=[for_model.pk])).status_code == 200
    assert Client().get(reverse("knowledge:detail", args=[for_model.pk])).status_code == 404
    public = Client().get(reverse("knowledge:suggest"), {"q": "E4 KFR-35GW compressor driver board"}).json()
    assert for_model.title not in [r["title"] for r in public["results"]]


def test_a_job_with_no_matching_article_shows_no_article_box(client, technician, compressor_job, make_article):
    make_article(title="Washer drum noise", body="x", service_types=[ServiceTypeFactory(code="washer")])
    client.force_login(technician.user)
    html = client.get(reverse("tech:job", args=[compressor_job.pk])).content.decode()
    assert 'id="kb-articles"' not in html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_job_page_costs_the_same_queries_with_one_article_or_many(
    client, technician, compressor_job, make_article, aircon
):
    client.force_login(technician.user)
    url = reverse("tech:job", args=[compressor_job.pk])
    make_article(title="Aircon not cooling", body="Filter.", service_types=[aircon])
    client.get(url)  # fills the per-process caches (roles, service types)
    one = _queries(client, url)

    for n in range(8):
        category = Category.objects.create(name=f"Category {n}", slug=f"category-{n}")
        make_article(title=f"Aircon guide {n}", body="x", summary="s", category=category, service_types=[aircon],
                     audience=Audience.TECHNICIAN if n % 2 else Audience.PUBLIC, equipment_models="KFR-35GW")

    html = client.get(url).content.decode()
    assert html.count('href="/kb/') == 5  # as many as the box shows
    assert _queries(client, url) == one


def test_a_partner_technician_gets_articles_on_a_job_of_theirs(client, partner_technician, aircon, make_article):
    article = make_article(title="R32 charging", body="Vacuum first.", audience=Audience.TECHNICIAN,
                           service_types=[aircon])
    job = job_for(partner_technician, service_type=aircon)
    client.force_login(partner_technician.user)
    html = client.get(reverse("tech:job", args=[job.pk])).content.decode()
    assert article.title in html
    assert client.get(reverse("knowledge:detail", args=[article.pk])).status_code == 200

