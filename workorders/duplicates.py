"""When two requests describe the same problem: one rule for the public form and for triage.

Texts are compared by the character pairs they share (the Dice coefficient over bigrams of
letters, digits and Chinese characters, after NFKC and lower case), with no word segmentation, in a
few microseconds. 1.0 is the same text whatever its punctuation and spacing ("空调不制冷，外机有异响。"
and "空调不制冷 外机有异响！"), 0.0 nothing in common; a reworded one ("空调不制冷了 外机异响") is
about 0.67.

The public form (``public_form_duplicate``) joins a repeat of a request to the open order it
repeats instead of creating a second one (``services.workorder_add_customer_note``); the triage
app flags likely duplicates for the agents with the same measure and a lower bar.
"""

import re
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.compiled import Statement, execute
from customers.models import Customer

from .lifecycle import OPEN_STATES
from .models import WorkOrder

_KEEP = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]+")


def _pairs(text: str) -> set[str]:
    flat = "".join(_KEEP.findall(unicodedata.normalize("NFKC", text or "").lower()))
    if len(flat) < 2:
        return {flat} if flat else set()
    return {flat[i:i + 2] for i in range(len(flat) - 1)}


def text_similarity(a: str, b: str) -> float:
    """How alike two descriptions are, 0.0 to 1.0 (see the module's docstring)."""
    first, second = _pairs(a), _pairs(b)
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


def _repeat_statement() -> Statement:
    """The candidates' query, written once: the public form's create path is benchmarked, and
    building and compiling a queryset cost it more CPU than PostgreSQL spends answering this."""
    order, customer = WorkOrder._meta.db_table, Customer._meta.db_table
    states = ", ".join(f"'{state}'" for state in sorted(OPEN_STATES))
    return Statement(
        f"SELECT w.id, w.status, w.description, w.public_token, w.submission_key"
        f" FROM {order} w JOIN {customer} c ON c.id = w.customer_id"
        f" WHERE c.phone = %s AND w.created_at >= %s AND w.status IN ({states})"
        f" ORDER BY w.id DESC LIMIT 10",
        "form_repeat",
    )


_REPEAT = _repeat_statement()
_COLUMNS = ("id", "status", "description", "public_token", "submission_key")


def public_form_duplicate(*, phone: str, description: str, now=None) -> dict | None:
    """The open order that this request from the public form repeats, or None.

    An order repeats when it is open and came from the same phone number (the customer's, as
    stored: E.164) within ``PUBLIC_FORM_DUPLICATE_MINUTES`` and its description is at least
    ``PUBLIC_FORM_DUPLICATE_SIMILARITY`` alike. One query (a prepared statement), through the
    customer's unique phone index and the work orders' customer index; none when the window is 0.
    """
    minutes = settings.PUBLIC_FORM_DUPLICATE_MINUTES
    if minutes <= 0 or not phone:
        return None
    since = (now or timezone.now()) - timedelta(minutes=minutes)
    with connection.cursor() as cursor:
        execute(cursor, _REPEAT, [phone, since])
        rows = cursor.fetchall()
    if not rows:
        return None
    score, best = max((text_similarity(description, row[2]), row) for row in rows)
    if score < settings.PUBLIC_FORM_DUPLICATE_SIMILARITY:
        return None
    found = dict(zip(_COLUMNS, best))
    found["submission_key"] = str(found["submission_key"]) if found["submission_key"] is not None else None
    return found
