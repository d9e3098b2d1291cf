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
from django.utils import timezone

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


def public_form_duplicate(*, phone: str, description: str, now=None):
    """The open order from the public form that this request repeats, or None.

    An order repeats when it is open and came from the same phone number (the customer's, as stored:
    E.164) within ``PUBLIC_FORM_DUPLICATE_MINUTES`` and its description is at least
    ``PUBLIC_FORM_DUPLICATE_SIMILARITY`` alike. One query, through the customer's unique phone
    index and the work orders' customer index; nothing when the window is 0.
    """
    minutes = settings.PUBLIC_FORM_DUPLICATE_MINUTES
    if minutes <= 0 or not phone:
        return None
    since = (now or timezone.now()) - timedelta(minutes=minutes)
    candidates = list(
        WorkOrder.objects.filter(
            customer__phone=phone, created_at__gte=since, status__in=OPEN_STATES,
        )
        .order_by("-id")
        .values("id", "status", "description", "public_token", "submission_key")[:10]
    )
    bar = settings.PUBLIC_FORM_DUPLICATE_SIMILARITY
    best = max(candidates, key=lambda row: text_similarity(description, row["description"]), default=None)
    if best is None or text_similarity(description, best["description"]) < bar:
        return None
    return best
