"""A row's version for optimistic concurrency (the API's ``ETag`` / ``If-Match``): its last change,
``updated_at``, to the microsecond. Work orders, customers, sites, equipment, technicians, parts and service types use it."""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Conflict, NotFound, PreconditionFailed

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def etag_of(updated_at) -> str:
    """``updated_at`` as an HTTP entity tag (``"…"``, quoted hex microseconds since 1970)."""
    stamp = (updated_at - _EPOCH) // _MICROSECOND if updated_at is not None else 0
    return f'"{stamp:x}"'


def version_check(updated_at, if_match: list[str], message: str) -> str:
    """The row's current ETag; ``PreconditionFailed`` (412 with it) unless it is among ``if_match``
    (the versions the caller read, quoted)."""
    current = etag_of(updated_at)
    if current not in if_match:
        raise PreconditionFailed(message, etag=current)
    return current


def next_moment(previous, now):
    """The ``updated_at`` of a change made at ``now`` to a row last changed at ``previous``: at
    least a microsecond later, so that two versions never share an ETag."""
    if previous is not None and now <= previous:
        return previous + _MICROSECOND
    return now


# --- Rows written through the API from a version (customers, technicians, catalog) ------------
# Each change is made from a version the caller read (``If-Match``) and checked under the row's
# lock; a value another row of the same kind has (``uniques``: field name -> what the conflict
# says) is a conflict (409) naming the field; nothing is written on any error.


def refuse_taken(model, uniques: dict, values: dict, *, pk=None) -> None:
    """Conflict naming each unique field whose new value another row has."""
    taken = {}
    for name, message in uniques.items():
        value = values.get(name)
        if value in (None, ""):
            continue
        if model.objects.filter(**{name: value}).exclude(pk=pk).exists():
            taken[name] = [str(message)]
    if taken:
        raise Conflict(_("A value is already taken by another row."), code="taken", fields=taken)


def write_unique(model, uniques: dict, values: dict, write, *, pk=None):
    """Run ``write`` (an INSERT or UPDATE) in a savepoint: a unique key taken meanwhile by another
    writer is the same conflict as one found before."""
    refuse_taken(model, uniques, values, pk=pk)
    try:
        with transaction.atomic():
            return write()
    except IntegrityError:
        refuse_taken(model, uniques, values, pk=pk)
        raise


def clean_refs(values: dict, names=("external_ref",)) -> dict:
    """A blank external reference (or other optional unique text) is none (NULL: unique only when set)."""
    for name in names:
        if name in values and isinstance(values[name], str) and not values[name].strip():
            values[name] = None
    return values


def locked_row(queryset, pk: int, not_found: str):
    """The row ``pk`` of ``queryset``, locked for the change (``NotFound`` when there is none)."""
    row = queryset.select_for_update().filter(pk=pk).first() if 0 < pk < 2**63 else None
    if row is None:
        raise NotFound(not_found)
    return row


def apply_changes(model, uniques: dict, row, changes: dict, if_match: list[str], stale: str, *, force=False,
                  signal=False):
    """Write ``changes`` to the locked ``row`` if made from its current version: the fields that
    differ, with ``updated_at`` at least a microsecond on (``next_moment``). Sending the values
    the row has writes nothing and keeps its version, unless ``force`` (something else of the row
    changed, e.g. its skills). With ``signal``, a write is told to ``post_save``'s receivers as a
    save would be (e.g. the per-process copies of service types, core/refcache.py). Returns the
    row and the fields changed."""
    version_check(row.updated_at, if_match, stale)
    diff = {name: value for name, value in changes.items() if getattr(row, name) != value}
    if not diff and not force:
        return row, {}
    moment = next_moment(row.updated_at, timezone.now())
    write_unique(model, uniques, diff, lambda: model.objects.filter(pk=row.pk).update(**diff, updated_at=moment),
                 pk=row.pk)
    for name, value in diff.items():
        setattr(row, name, value)
    row.updated_at = moment
    if signal:
        post_save.send(sender=model, instance=row, created=False, update_fields=frozenset([*diff, "updated_at"]))
    return row, diff
