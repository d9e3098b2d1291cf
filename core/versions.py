"""A row's version for optimistic concurrency (the API's ``ETag`` / ``If-Match``): its last change,
``updated_at``, to the microsecond. Work orders, customers, sites and equipment use it."""

from datetime import UTC, datetime, timedelta

from .errors import PreconditionFailed

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
