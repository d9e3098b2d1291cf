"""Writes of the technicians app: where a technician's home base is.

A technician's home base is an address (``Technician.home_address``) and a point
(``home_latitude``, ``home_longitude``) that dispatch measures travel from. As for sites
(customers/services.py), the point is found after commit by a Celery task, never on the request:
a technician is "pending" when created or when the address or the point changes (import, admin),
and ``technicians_locate`` then keeps a typed-in point inside the region as "exact" or geocodes the
address (core/geocoding.py). Beat's sweep catches any the task after commit missed.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from catalog.services import skill_levels
from core import roles as R
from core.errors import InvalidInput
from core.permissions import require
from core.geocoding import checked_point, geocode_many
from core.validation import normalize_phone
from core.versions import apply_changes, clean_refs, locked_row, version_check, write_unique

from .models import PartnerCompany, Technician, TechnicianSkill
from .selectors import technician_visible_to

logger = logging.getLogger(__name__)

P = Technician.Precision


def technician_home_changed(*, technician: Technician, address_changed: bool, point_changed: bool) -> None:
    """An edited home base (admin, import) is located again after commit: a new address geocoded
    (its old point dropped), or typed coordinates checked. ``technician`` is saved by the caller."""
    if not (address_changed or point_changed):
        return
    if address_changed and not point_changed:
        technician.home_latitude = technician.home_longitude = None
    technician.home_precision = P.PENDING


def technicians_locate(*, technician_ids) -> dict[str, int]:
    """Locate the pending technicians among ``technician_ids``: {precision: how many}.

    A typed-in point inside the region (swapped back if given the wrong way round) is kept as
    "exact"; otherwise the home address is geocoded, and a technician without an address or whose
    address is not found has no home point ("unknown"). The provider is asked outside any
    transaction; a result is written only if the technician is still pending at the same address and point.
    """
    rows = list(
        Technician.objects.filter(pk__in=list(technician_ids), home_precision=P.PENDING)
        .order_by("pk").values_list("pk", "home_address", "home_latitude", "home_longitude")
    )
    results: dict[int, tuple] = {}
    to_geocode = []
    for pk, address, lat, lng in rows:
        point = None if lat is None or lng is None else checked_point(lat, lng)
        if point is not None:
            results[pk] = (point[0], point[1], P.EXACT)
        elif address.strip():
            to_geocode.append((pk, address))
        else:
            results[pk] = (None, None, P.UNKNOWN)
    if to_geocode:
        try:
            found = geocode_many([address for _pk, address in to_geocode])
        except Exception:  # a provider bug must not stop the sweep forever
            logger.exception("geocoding %d home base(s) failed", len(to_geocode))
            found = [None] * len(to_geocode)
        for (pk, _address), location in zip(to_geocode, found):
            results[pk] = (None, None, P.UNKNOWN) if location is None else (
                location.latitude, location.longitude, location.precision)
    read = {pk: (address, lat, lng) for pk, address, lat, lng in rows}
    counts: dict[str, int] = {}
    with transaction.atomic():
        for pk, (lat, lng, precision) in results.items():
            updated = Technician.objects.filter(pk=pk, **_unchanged(*read[pk])).update(
                home_latitude=_six(lat), home_longitude=_six(lng), home_precision=precision
            )
            if updated:
                counts[precision] = counts.get(precision, 0) + 1
    return counts


def _unchanged(address, lat, lng) -> dict:
    """Filter for "still pending with the address and point that were read": an admin who typed a
    point (or changed the address) while the provider was asked wins over the stale result."""
    return {
        "home_precision": P.PENDING,
        "home_address": address,
        **({"home_latitude__isnull": True} if lat is None else {"home_latitude": lat}),
        **({"home_longitude__isnull": True} if lng is None else {"home_longitude": lng}),
    }


def _six(value):
    return None if value is None else Decimal(f"{value:.6f}")


def technicians_geocode_pending(*, batch: int | None = None) -> dict[str, int]:
    """Beat's sweep: locate up to ``batch`` technicians still pending (index ``technician_home_pending``)."""
    batch = batch or settings.GEOCODE_SWEEP_BATCH
    ids = list(Technician.objects.filter(home_precision=P.PENDING).order_by("pk").values_list("pk", flat=True)[:batch])
    return technicians_locate(technician_ids=ids) if ids else {}


def technicians_geocode_pending_after_commit() -> None:
    """After a write (an import, an admin edit): one round of the sweep once it commits; beat does the rest."""
    if settings.GEOCODE_ENQUEUE_ON_COMMIT:
        transaction.on_commit(_enqueue_sweep)


def _enqueue_sweep() -> None:
    from .tasks import home_geocode_sweep

    try:
        home_geocode_sweep.apply_async(retry=False)
    except Exception as exc:
        logger.warning("Could not enqueue the home base geocoding sweep (%s); beat runs it anyway", exc)


# --- Technicians written through the API (technicians/api.py) ----------------------------------
# As customers' rows (customers/services.py): each change is made from the version the caller read
# and checked under the technician's lock (core/versions.py); a username, employee number or
# external reference another has is a conflict (409) naming the field; nothing is written on any
# error. A new technician gets a login without a password (an administrator sets one, or the
# technician resets it) in the technician group, or the partner technician group when a partner
# company is named, as an imported one (technicians/resources.py).

_UNIQUE = {
    "employee_number": _lazy("Another technician has this employee number."),
    "external_ref": _lazy("Another technician has this external reference."),
}
_UNIQUE_USER = {"username": _lazy("Another user has this username.")}
USER_FIELDS = ("first_name", "last_name", "email")


def _may_write(actor) -> None:
    require(actor, "technicians.change")


def _skill_levels(items) -> dict[int, int]:
    return skill_levels(items, field="skills", level="level")


def _set_skills(technician: Technician, levels: dict[int, int]) -> bool:
    """The technician's skills become exactly ``levels``; whether anything changed."""
    current = dict(technician.skill_levels.values_list("skill_id", "level"))
    if current == levels:
        return False
    technician.skill_levels.exclude(skill_id__in=list(levels)).delete()
    for skill_id, level in levels.items():
        if current.get(skill_id) != level:
            TechnicianSkill.objects.update_or_create(technician=technician, skill_id=skill_id,
                                                     defaults={"level": level})
    return True


def _partner_company(pk):
    if pk is None:
        return None
    company = PartnerCompany.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if company is None:
        message = _("There is no such partner company.")
        raise InvalidInput(message, fields={"partner_company": [message]})
    return company


def technician_create(*, actor, values: dict) -> Technician:
    """A new technician with a login (``username``, names, email), details and skills (dispatchers,
    managers, API clients; a client restricted to a partner company creates that company's)."""
    _may_write(actor)
    values = clean_refs(dict(values), ("external_ref", "employee_number"))
    scope = R.client_scope(actor)
    if scope[0] == "partner":
        if values.get("partner_company") not in (None, scope[1]):
            message = _("This key creates only its own partner company's technicians.")
            raise InvalidInput(message, fields={"partner_company": [message]})
        values["partner_company"] = scope[1]
    company = _partner_company(values.pop("partner_company", None))
    levels = _skill_levels(values.pop("skills", []))
    user_values = {"username": values.pop("username"), **{n: values.pop(n) for n in USER_FIELDS if n in values}}
    if "phone" in values and values["phone"]:
        values["phone"] = normalize_phone(values["phone"])
    User = get_user_model()
    with transaction.atomic():
        user = User(**user_values)
        user.set_unusable_password()
        write_unique(User, _UNIQUE_USER, user_values, user.save)
        group, _created = Group.objects.get_or_create(name=R.PARTNER_TECHNICIAN if company else R.TECHNICIAN)
        user.groups.add(group)
        technician = Technician(user=user, partner_company=company, **values)  # home base: pending
        write_unique(Technician, _UNIQUE, values, technician.save)
        _set_skills(technician, levels)
        if values.get("home_address"):
            technicians_geocode_pending_after_commit()
    return technician


def technician_update(*, actor, technician_id: int, changes: dict, if_match: list[str]) -> Technician:
    """Change a technician's names, email, employee number, phone, home address, active flag,
    skills (exactly those given) or reference, from the version ``if_match`` names (else 412)."""
    changes = clean_refs(dict(changes), ("external_ref", "employee_number"))
    if changes.get("phone"):
        changes["phone"] = normalize_phone(changes["phone"])
    with transaction.atomic():
        technician = locked_row(
            Technician.objects.filter(pk__in=technician_visible_to(actor).values("pk")).select_related("user"),
            technician_id, _("No such technician."))
        _may_write(actor)
        stale = _("Technician %(id)s was changed since you read it; read it again and re-apply your change.") % {
            "id": technician.pk}
        version_check(technician.updated_at, if_match, stale)
        levels = _skill_levels(changes.pop("skills")) if "skills" in changes else None
        user = technician.user
        asked = {n: changes.pop(n) for n in USER_FIELDS if n in changes}
        user_changes = {n: value for n, value in asked.items() if value != getattr(user, n)}
        if user_changes:
            for name, value in user_changes.items():
                setattr(user, name, value)
            user.save(update_fields=list(user_changes))
        skills_changed = levels is not None and _set_skills(technician, levels)
        address_changed = "home_address" in changes and changes["home_address"] != technician.home_address
        if address_changed:
            probe = Technician(home_address=changes["home_address"], home_latitude=technician.home_latitude,
                               home_longitude=technician.home_longitude)
            technician_home_changed(technician=probe, address_changed=True, point_changed=False)
            changes.update(home_latitude=probe.home_latitude, home_longitude=probe.home_longitude,
                           home_precision=probe.home_precision)
        # Told as a save would be: the work orders' copies of technicians' names listen (signal).
        technician, _diff = apply_changes(Technician, _UNIQUE, technician, changes, if_match, stale,
                                          force=bool(user_changes) or skills_changed, signal=True)
        if address_changed:
            technicians_geocode_pending_after_commit()
    return technician

