"""Reading for triage: what to learn from, the model in use, suggestions, likely duplicates."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import ServiceTypeSkill
from catalog.selectors import service_type_by_code
from core.choices import Priority
from core.i18n import translated
from core.refcache import VersionedCache, receiver_for
from workorders.duplicates import text_similarity
from workorders.lifecycle import OPEN_STATES, Status
from workorders.models import WorkOrder, WorkOrderEvent
from workorders.selectors import workorder_visible_to

from . import learning
from .models import TriageModel

logger = logging.getLogger(__name__)

def training_rows() -> list[tuple]:
    """(description, service type code, priority) of the newest closed orders: the service type
    and priority they ended with are what the office decided they were."""
    return list(
        WorkOrder.objects.filter(status=Status.CLOSED)
        .order_by("-id")
        .values_list("description", "service_type__code", "priority")[: settings.TRIAGE_MAX_SAMPLES]
    )


# --- The model in use, kept per process ----------------------------------------------------
# Loaded once per process and version (core/refcache.py): a new version saved by the beat task in
# a worker drops every web process's copy within a second (the version token in the cache).

TRIAGE_MODEL = VersionedCache("triage_model")
post_save.connect(receiver_for(TRIAGE_MODEL), sender=TriageModel, dispatch_uid="triage.model.saved")
post_delete.connect(receiver_for(TRIAGE_MODEL), sender=TriageModel, dispatch_uid="triage.model.deleted")


def _load_current() -> tuple:
    row = TriageModel.objects.defer("model").order_by("-version").first()
    fitted = None
    if row is not None and row.usable:
        blob = TriageModel.objects.filter(pk=row.pk).values_list("model", flat=True).first()
        try:
            fitted = learning.loads(bytes(blob))
        except Exception:  # e.g. pickled by another scikit-learn: say so, suggest nothing until retrained
            logger.exception("triage model v%s could not be loaded; retrain it (manage.py triage_train)", row.version)
    return row, fitted


def current_model() -> tuple:
    """(the newest ``TriageModel`` without its bytes, or None; its fitted model, or None)."""
    return TRIAGE_MODEL.get("current", _load_current)


def forget_loaded_model() -> None:
    TRIAGE_MODEL.clear_local()


# --- Suggestions ---------------------------------------------------------------------------


def _skills_of(service_type_id: int) -> list[dict]:
    return [
        {"code": code, "name": name, "min_level": level}
        for code, name, level in ServiceTypeSkill.objects.filter(service_type_id=service_type_id)
        .order_by("skill__code")
        .annotate(skill_label=translated("skill__name"))
        .values_list("skill__code", "skill_label", "min_level")
    ]


def _type_entry(code: str, confidence: float) -> dict | None:
    service_type = service_type_by_code(code)
    if service_type is None or not service_type.active:
        return None
    return {"id": service_type.pk, "code": code, "name": service_type.name, "confidence": round(confidence, 3)}


def suggest(description: str) -> dict:
    """What the model suggests for ``description``: the service type, the priority and the
    skills, each with its confidence, or nothing (``reason`` says why)."""
    row, fitted = current_model()
    answer = {
        "model_version": row.version if row else None,
        "suggested": False,
        "reason": "",
        "message": "",
        "service_type": None,
        "alternatives": [],
        "priority": None,
        "skills": [],
    }
    if row is None or fitted is None:
        if row is not None and not row.usable:
            answer["reason"] = "too_little_data"
            answer["message"] = _(
                "The triage model v%(v)s learned from too little data (%(n)d closed orders); it suggests nothing."
            ) % {"v": row.version, "n": row.samples}
        else:
            answer["reason"] = "no_model"
            answer["message"] = _("No triage model is available yet; it suggests nothing.")
        return answer
    text = (description or "").strip()
    if not text:
        answer["reason"] = "no_description"
        return answer
    prediction = learning.predict(fitted, text)
    threshold = settings.TRIAGE_MIN_CONFIDENCE
    entries = [e for e in (_type_entry(code, p) for code, p in prediction.types) if e is not None]
    if entries and entries[0]["confidence"] >= threshold:
        answer["service_type"] = entries[0]
        answer["alternatives"] = entries[1:]
        answer["skills"] = _skills_of(entries[0]["id"])
    if prediction.priority is not None and prediction.priority_confidence >= threshold:
        answer["priority"] = {
            "value": prediction.priority,
            "label": str(Priority(prediction.priority).label),
            "confidence": round(prediction.priority_confidence, 3),
        }
    answer["suggested"] = bool(answer["service_type"] or answer["priority"])
    if not answer["suggested"]:
        answer["reason"] = "low_confidence"
        answer["message"] = _("Not sure enough to suggest anything.")
    return answer


def likely_duplicates(*, user, description: str, customer_id=None, site_id=None, phone: str = "",
                      exclude_id: int | None = None, limit: int = 5) -> list[dict]:
    """Open orders ``user`` may see, of the same customer (or phone) or site, from the last
    ``TRIAGE_DUPLICATE_DAYS``, whose description is alike (``workorders.duplicates``), most alike first."""
    match = Q()
    if customer_id:
        match |= Q(customer_id=customer_id)
    if site_id:
        match |= Q(site_id=site_id)
    if phone:
        match |= Q(customer__phone=phone)
    if not match or not (description or "").strip():
        return []
    since = timezone.now() - timedelta(days=settings.TRIAGE_DUPLICATE_DAYS)
    queryset = workorder_visible_to(user).filter(match, status__in=OPEN_STATES, created_at__gte=since)
    if exclude_id:
        queryset = queryset.exclude(pk=exclude_id)
    rows = queryset.order_by("-id").values("id", "status", "description", "created_at")[:50]
    found = []
    for row in rows:
        similarity = text_similarity(description, row["description"])
        if similarity >= settings.TRIAGE_DUPLICATE_SIMILARITY:
            found.append({
                "id": row["id"],
                "number": WorkOrder(pk=row["id"], created_at=row["created_at"]).number,
                "status": row["status"],
                "created_at": row["created_at"],
                "description": row["description"][:200],
                "similarity": round(similarity, 3),
            })
    found.sort(key=lambda item: -item["similarity"])
    return found[:limit]


# --- The acceptance rate (a KPI) -----------------------------------------------------------


def acceptance_rate(*, since=None) -> dict:
    """How often agents accepted the suggestion they were shown at intake (creation events that
    carry ``data.triage``, triage/outcomes.py): {"shown", "accepted", "rate"}."""
    events = WorkOrderEvent.objects.filter(action="create", data__has_key="triage")
    if since is not None:
        events = events.filter(created_at__gte=since)
    shown = events.count()
    accepted = events.filter(data__triage__accepted=True).count()
    return {"shown": shown, "accepted": accepted, "rate": round(accepted / shown, 3) if shown else None}
