"""The dashboard page: charts drawn by chart.js from our own static files, each with its numbers beside it."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.reports.helpers import dashboard

pytestmark = pytest.mark.django_db


def test_chart_js_is_served_from_our_static_files_and_no_script_comes_from_elsewhere(manager_client, week):
    if finders.find("chartjs/chart.umd.min.js") is None:
        pytest.skip("node_modules/chart.js is not installed (make install runs npm ci)")
    html = dashboard(manager_client).content.decode()

    scripts = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert "/static/chartjs/chart.umd.min.js" in scripts
    assert "/static/reports/dashboard.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    assert "Chart.register" not in html  # no inline chart code: the data travels as JSON
    assert '<script id="report-data" type="application/json">' in html


def test_every_chart_has_its_table_beside_it(manager_client, week):
    html = dashboard(manager_client).content.decode()
    rows = re.split(r'<div class="chart-row[^"]*">', html)[1:]
    assert len(rows) == 5  # daily, weekly, times, SLA, backlog
    for row in rows:
        assert "<canvas" in row.split("</canvas>")[0]
        assert "<table" in row


def test_the_page_works_in_chinese(manager_client, week):
    manager_client.cookies["django_language"] = "zh-hans"
    response = dashboard(manager_client)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'data-kpi="volume-total" data-value="7"' in html


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_an_answered_survey_shows_on_the_dashboard_at_once(client, week):
    # No test transaction around this one: each service call commits, the refresh after
    # commit runs, and the page reads its figures in a snapshot of its own.
    from tests.reports.conftest import Story, at

    s = Story(week.service_type, week.manager)
    wo = s.create(at(3, 6, 10))
    s.assign(wo, at(3, 6, 10, 5), week.t2, at(3, 6, 11), at(3, 6, 12))
    s.visit(wo, week.t2, accept=at(3, 6, 10, 10), arrive=at(3, 6, 11))
    s.step(wo, at(3, 6, 11, 30), "complete", week.t2.user, note="Done.")
    s.survey(wo, at(3, 6, 15), satisfaction=1, recommend=0)

    client.force_login(week.manager)
    html = dashboard(client, technician=week.t2.pk).content.decode()
    assert 'data-kpi="volume-total" data-value="2"' in html  # C and this one
    assert 'data-kpi="satisfaction-avg" data-value="2.50"' in html  # (4 + 1) / 2
