"""Training the triage model: one new ``TriageModel`` version per run."""

import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from . import learning
from .models import TriageModel
from .selectors import forget_loaded_model, training_rows

logger = logging.getLogger(__name__)

VERSION_LOCK = 0x54524941  # "TRIA"


def triage_train(*, rows: list[tuple] | None = None) -> TriageModel:
    """Learn from the company's closed orders (``selectors.training_rows``; ``rows`` of
    (description, service type code, priority) instead, for tests and the bench) and save the
    result as the next version, usable or not.

    Too few orders (``TRIAGE_MIN_SAMPLES``) or fewer than two service types with enough of them:
    the version records why and keeps no model, and suggestions stop until a later run learns
    enough (an older model is not used once a newer run says the data do not support one).
    """
    rows = training_rows() if rows is None else rows
    minimum = settings.TRIAGE_MIN_SAMPLES
    fitted, note = None, ""
    learnable = [row for row in rows if row[0] and row[1]]
    if len(learnable) < minimum:
        note = _("Too little data: %(n)d closed orders, at least %(min)d are needed.") % {
            "n": len(learnable), "min": minimum}
    else:
        fitted = learning.fit(learnable, held_out=settings.TRIAGE_HELD_OUT)
        if fitted.type_model is None:
            note = _("Too little data: fewer than two service types with %(n)d or more closed orders each.") % {
                "n": learning.MIN_PER_CLASS}
            fitted = None
    import sklearn

    evaluation = fitted.evaluation if fitted is not None else {}
    with transaction.atomic():
        # Two runs at once (the beat task and a manager's command) take turns for the version number.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERSION_LOCK])
        version = (TriageModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        row = TriageModel.objects.create(
            version=version,
            trained_at=timezone.now(),
            samples=fitted.samples if fitted is not None else len(learnable),
            held_out=evaluation.get("n", 0),
            usable=fitted is not None,
            note=note,
            accuracy=evaluation.get("top1"),
            accuracy_top3=evaluation.get("top3"),
            per_class={**evaluation.get("classes", {}), **(
                {"_priority_top1": evaluation.get("priority_top1")} if evaluation else {})},
            sklearn_version=sklearn.__version__,
            model=learning.dumps(fitted) if fitted is not None else b"",
        )
    forget_loaded_model()
    logger.info("triage model v%s: %s samples, usable=%s, top-1 %s", row.version, row.samples, row.usable,
                row.accuracy)
    return row
