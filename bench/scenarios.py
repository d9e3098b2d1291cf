"""What the benchmark measures: one entry per endpoint.

To add a scenario, append a ``Scenario`` to ``SCENARIOS``. ``path`` is a
function of the run's ``Context`` (see ``bench/run.py``), called once after the
server is up, so it may look things up or follow links first. POST bodies are
templates: ``__UUID__`` and ``__PHONE__`` become fresh values on every request
(wrk does that in ``bench/lua/request.lua``), so that each create is a new
request and not a replay of the first one.

    Scenario(
        name="kb-search",
        label="Knowledge search",
        path=lambda ctx: "/kb/?q=空调不制冷",
        min_rps=300, max_p95_ms=50,
    ),
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable
from urllib.parse import urlencode

# Targets from the Foundation issue (1,000,000 work orders, 2 gunicorn workers).
CREATE_RPS = 400
LIST_RPS, LIST_P95_MS = 500, 40
DETAIL_RPS = 300
DEEP_PAGES = 200


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    path: Callable  # (ctx) -> "/path/?query"
    method: str = "GET"
    auth: str | None = None  # "token" (API token), "session" (logged-in staff), "csrf" (anonymous form) or None
    body: Callable | None = None  # (ctx) -> (content type, body template)
    headers: dict = field(default_factory=dict)  # values may contain __UUID__
    expect: tuple = (200,)  # status codes that mean the request did what it should
    min_rps: float | None = None
    max_p95_ms: float | None = None


# --------------------------------------------------------------- bodies

def api_create_body(ctx):
    return "application/json", json.dumps(
        {
            "contact_name": "王芳",
            "contact_phone": "__PHONE__",
            "address": "上海市浦东新区张杨路500号3栋1201室",
            "service_type": ctx.service_type_code,
            "description": "空调不制冷，外机有异响。",
            "priority": 2,
        },
        ensure_ascii=False,
    )


def public_form_body(ctx):
    """The public request form as a browser posts it, field names read from the form itself."""
    from django.utils import timezone

    from workorders.forms import PublicRequestForm

    start = timezone.localtime() + timedelta(days=2)
    start = start.replace(hour=9, minute=0, second=0, microsecond=0)
    values = {
        "name": "李雷", "contact_name": "李雷",
        "phone": "__PHONE__", "contact_phone": "__PHONE__",
        "email": "", "contact_email": "",
        "address": "上海市徐汇区虹桥路1号2栋301室",
        "service_type": str(ctx.service_type_id),
        "description": "洗衣机不排水，显示 E21。",
        "priority": "2",
        "preferred_start": start.strftime("%Y-%m-%dT%H:%M"),
        "preferred_end": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "submission_key": "__UUID__",
    }
    fields = [name for name in PublicRequestForm.base_fields if name in values]
    data = [(name, values[name]) for name in fields]
    data.append(("csrfmiddlewaretoken", ctx.csrf_token))
    return "application/x-www-form-urlencoded", urlencode(data)


# ---------------------------------------------------------------- paths

def staff_list(ctx):
    return "/staff/work-orders/?status=new"


def api_list(ctx):
    return "/api/v1/work-orders/?status=new"


def staff_list_deep(ctx):
    return ctx.follow_next(staff_list(ctx), auth="session", pages=DEEP_PAGES)


def api_list_deep(ctx):
    return ctx.follow_next(api_list(ctx), auth="token", pages=DEEP_PAGES)


SCENARIOS = [
    Scenario(
        name="api-create", label="API create", method="POST", path=lambda ctx: "/api/v1/work-orders/",
        auth="token", body=api_create_body, headers={"Idempotency-Key": "__UUID__"}, expect=(201,),
        min_rps=CREATE_RPS,
    ),
    Scenario(
        name="form-create", label="Public form create", method="POST", path=lambda ctx: "/request/",
        auth="csrf", body=public_form_body, expect=(302, 303), min_rps=CREATE_RPS,
    ),
    Scenario(
        name="staff-list", label="Staff list, status=new, first page", path=staff_list, auth="session",
        min_rps=LIST_RPS, max_p95_ms=LIST_P95_MS,
    ),
    Scenario(
        name="staff-list-deep", label=f"Staff list, status=new, page {DEEP_PAGES + 1}", path=staff_list_deep,
        auth="session", min_rps=LIST_RPS, max_p95_ms=LIST_P95_MS,
    ),
    Scenario(
        name="api-list", label="API list, status=new, first page", path=api_list, auth="token",
        min_rps=LIST_RPS, max_p95_ms=LIST_P95_MS,
    ),
    Scenario(
        name="api-list-deep", label=f"API list, status=new, page {DEEP_PAGES + 1}", path=api_list_deep,
        auth="token", min_rps=LIST_RPS, max_p95_ms=LIST_P95_MS,
    ),
    Scenario(
        name="staff-detail", label="Staff detail, 50 events", path=lambda ctx: f"/staff/work-orders/{ctx.detail_pk}/",
        auth="session", min_rps=DETAIL_RPS,
    ),
    Scenario(
        name="healthz", label="Health check (1 query; the machine's baseline)", path=lambda ctx: "/healthz",
    ),
    Scenario(
        name="api-detail", label="API detail, 50 events", path=lambda ctx: f"/api/v1/work-orders/{ctx.detail_pk}/",
        auth="token",
    ),
]
