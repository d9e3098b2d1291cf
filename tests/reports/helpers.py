"""Reading the dashboard the way a person (or a browser test) would: its data-kpi figures."""

from html.parser import HTMLParser

import time_machine

from tests.reports.conftest import NOW

WEEK = {"from": "2025-03-03", "to": "2025-03-09"}


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-kpi" in attrs:
            self.figures.append(attrs)


def figures(html: str) -> list[dict]:
    parser = _Figures()
    parser.feed(html)
    return parser.figures


def kpi(html: str, name: str, **match) -> str:
    """The data-value of the one element with data-kpi=name (and data-<key>=value for each match)."""
    found = [
        f for f in figures(html)
        if f["data-kpi"] == name and all(f.get(f"data-{k}") == str(v) for k, v in match.items())
    ]
    assert len(found) == 1, f"{len(found)} elements with data-kpi={name} {match}"
    return found[0]["data-value"]


def kpis(html: str, name: str) -> list[str]:
    return [f["data-value"] for f in figures(html) if f["data-kpi"] == name]


def dashboard(client, **params):
    """GET /reports/ at the tests' "now" (every deadline of the week has passed)."""
    query = {**WEEK, **params}
    with time_machine.travel(NOW, tick=False):
        return client.get("/reports/", query)
