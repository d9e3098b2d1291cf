import atexit
import logging
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.batching import BatchPublisher
from core.errors import Forbidden, InvalidInput, NotFound
from core.inserts import Insert, Part
from core.validation import normalize_phone
from core.versions import apply_changes, clean_refs, locked_row, write_unique

from core.geocoding import checked_point, geocode_many

from .models import Customer, Equipment, Site
from .selectors import (
    customer_write_scope,
    customers_visible_to,
    equipment_visible_to,
    site_at_address,
    sites_visible_to,
)

logger = logging.getLogger(__name__)


def _insert_customer_unless_phone_taken(values: dict) -> int | None:
    """INSERT ... ON CONFLICT (phone) DO NOTHING RETURNING id: the new id, or None if the
    number is already on file. One statement, no savepoint: a conflict does not abort the
    transaction. A concurrent first request from
    the same number waits on the unique index, then finds the number taken."""
    meta = Customer._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    params = [f.get_db_prep_save(values[f.attname], connection) for f in fields]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(meta.get_field('phone').column)}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def customer_upsert_by_phone(
    *, phone: str, name: str, email: str = "", language: str = ""
) -> tuple[Customer, bool]:
    """The customer with this (normalised) phone number, created if new: ``(customer, created)``.

    A repeat caller keeps their record; an empty email on file is filled in.
    Two first-time requests from one number at the same moment make one customer:
    the unique phone column decides, and the loser reads the winner's row.
    """
    values = customer_insert(phone=phone, name=name, email=email, language=language).values
    new_id = _insert_customer_unless_phone_taken(values)
    if new_id is not None:
        customer = Customer(pk=new_id, **values)
        customer._state.adding = False
        customer._state.db = connection.alias
        return customer, True
    customer = Customer.objects.get(phone=phone)
    if email and not customer.email:
        customer.email = email
        customer.save(update_fields=["email", "updated_at"])
    return customer, False


def customer_get_or_create_by_phone(*, phone: str, name: str, email: str = "", language: str = "") -> Customer:
    """The customer with this (normalised) phone number, created if new (see ``customer_upsert_by_phone``)."""
    return customer_upsert_by_phone(phone=phone, name=name, email=email, language=language)[0]


def site_for_address(*, customer: Customer, address: str, customer_is_new: bool = False) -> Site:
    """The customer's site at this address, created if they have none there yet.

    ``customer_is_new``: the customer was created in this transaction, so they have no
    site yet and the lookup is skipped.
    """
    address = Site.normalize_address(address)
    site = None if customer_is_new else site_at_address(customer_id=customer.pk, address=address)
    if site is None:
        site = Site.objects.create(customer=customer, address=address)
        sites_locate_after_commit(site_ids=[site.pk])
    return site


# --- The same rules as parts of one statement (core/inserts.py) -------------------------------
# A work order's creation writes the caller's customer record and site in the statement that
# writes the order (workorders.services.workorder_create); these say what those parts are.


def customer_insert(*, phone: str, name: str, email: str = "", language: str = "", created_at=None) -> Insert:
    """The new customer with this phone number as part ``"c"`` of a linked insert: written
    only if the number is not on file (then the statement writes nothing that links to it)."""
    values = {f.attname: f.get_default() for f in Customer._meta.concrete_fields if not f.primary_key}
    values.update(phone=phone, name=name, email=email, language=language or "zh-hans")
    if created_at is not None:
        values["created_at"] = created_at
    values["updated_at"] = values["created_at"]  # its database default is an expression, not a value
    return Insert("c", Customer, values, on_conflict="(phone) DO NOTHING")


def site_insert(*, customer_id: int | None, address: str, links: dict) -> Insert:
    """A new site at ``address`` as part ``"s"`` of a linked insert (``links``: the customer's
    id from an earlier part, when the customer is new too)."""
    site = Site(customer_id=customer_id, address=Site.normalize_address(address))
    site.updated_at = site.created_at  # its database default is an expression, not a value
    values = {f.attname: getattr(site, f.attname) for f in Site._meta.concrete_fields if not f.primary_key}
    return Insert("s", Site, values, links=dict(links))


_FILL_EMAIL_SQL = "UPDATE customers_customer SET email = %s, updated_at = now() WHERE id = %s AND email = ''"


def customer_fill_email(customer: Customer, email: str) -> Part | None:
    """A repeat caller keeps their record; an empty email on file is filled in (as a part of
    the statement that writes their order), or None when there is nothing to fill."""
    if not email or customer.email:
        return None
    customer.email = email
    return Part("u", _FILL_EMAIL_SQL, (email, customer.pk))


# --- Where a site is (core/geocoding.py) ---------------------------------------------------
# A site is created "pending" by every path (public form, phone intake, API, import, admin); the
# geocoding task locates it after commit, and beat's sweep catches any the task missed (a broker
# that was down). Nothing of this runs on the request that created the site.


def sites_locate_after_commit(*, site_ids) -> None:
    """Once the current transaction commits, hand these sites to a worker to be located."""
    ids = sorted({int(pk) for pk in site_ids if pk})
    if ids and settings.GEOCODE_ENQUEUE_ON_COMMIT:
        transaction.on_commit(lambda: _enqueue_locate(ids))


def _enqueue_locate(ids: list[int]) -> None:
    """After commit: to a worker with the next batch (``OUTBOX_ENQUEUE_BATCH_MS``, as the outbox's
    deliveries), so that the request that created the site pays no broker round trip."""
    if settings.OUTBOX_ENQUEUE_BATCH_MS <= 0:
        _publish_locate(ids)
    else:
        LOCATE_PUBLISHER.add(ids)


def _publish_locate(ids: list[int]) -> None:
    """One task per 500 sites. A broker outage fails nothing: the geocoding sweep catches up."""
    from .tasks import locate_sites

    for start in range(0, len(ids), 500):
        try:
            locate_sites.apply_async(args=[ids[start:start + 500]], retry=False)
        except Exception as exc:
            logger.warning("Could not enqueue locating %d site(s) (%s); the geocoding sweep will", len(ids), exc)
            return


LOCATE_PUBLISHER = BatchPublisher(
    _publish_locate, window_ms=lambda: settings.OUTBOX_ENQUEUE_BATCH_MS, name="geocode-publisher"
)
atexit.register(LOCATE_PUBLISHER.flush, 2.0)


def sites_locate(*, site_ids) -> dict[str, int]:
    """Locate the pending sites among ``site_ids``: {precision: how many}.

    A site that came with coordinates (import, admin, API) keeps them as "exact" if they lie in
    the region (swapped back if given the wrong way round); otherwise its address is geocoded.
    The provider is asked outside any transaction (it may be a network call); each result is
    written only if the site is still pending at the same address (a conditional update), so a
    pin a dispatcher placed meanwhile, or an edited address, is never overwritten.
    """
    rows = list(
        Site.objects.filter(pk__in=list(site_ids), location_precision=Site.Precision.PENDING)
        .order_by("pk").values_list("pk", "address", "latitude", "longitude")
    )
    results: dict[int, tuple] = {}
    to_geocode = []
    for pk, address, lat, lng in rows:
        point = None if lat is None or lng is None else checked_point(lat, lng)
        if point is not None:
            results[pk] = (point[0], point[1], Site.Precision.EXACT, "")
        else:
            to_geocode.append((pk, address))
    if to_geocode:
        try:
            found = geocode_many([address for _pk, address in to_geocode])
        except Exception:  # a provider bug must not stop the sweep forever: these stay "unknown"
            logger.exception("geocoding %d site(s) failed", len(to_geocode))
            found = [None] * len(to_geocode)
        for (pk, _address), location in zip(to_geocode, found):
            if location is None:
                results[pk] = (None, None, Site.Precision.UNKNOWN, "")
            else:
                results[pk] = (location.latitude, location.longitude, location.precision, location.area)
    counts: dict[str, int] = {}
    now = timezone.now()
    addresses = {pk: address for pk, address, _lat, _lng in rows}
    with transaction.atomic():
        for pk, (lat, lng, precision, area) in results.items():
            updated = Site.objects.filter(
                pk=pk, location_precision=Site.Precision.PENDING, address=addresses[pk]
            ).update(
                latitude=_six(lat), longitude=_six(lng), location_precision=precision, location_area=area,
                located_at=now, updated_at=now,
            )
            if updated:
                counts[precision] = counts.get(precision, 0) + 1
    return counts


def _six(value):
    return None if value is None else Decimal(f"{value:.6f}")


def sites_geocode_pending(*, batch: int | None = None) -> dict[str, int]:
    """Beat's sweep: locate up to ``batch`` sites still pending (the partial index ``site_location_pending``)."""
    batch = batch or settings.GEOCODE_SWEEP_BATCH
    ids = list(
        Site.objects.filter(location_precision=Site.Precision.PENDING).order_by("pk").values_list("pk", flat=True)[:batch]
    )
    return sites_locate(site_ids=ids) if ids else {}


def site_locate_again(*, site: Site, address_changed: bool, point_changed: bool) -> None:
    """An edited site (admin) is located again after commit: its new address geocoded, or its typed
    coordinates checked. ``site`` is saved by the caller, after this."""
    if not (address_changed or point_changed):
        return
    if address_changed and not point_changed:
        site.latitude = site.longitude = None  # the old address's point
    site.location_precision = Site.Precision.PENDING
    site.location_area = ""
    site.located_at = None


def sites_geocode_pending_after_commit() -> None:
    """After a bulk write (an import): run one round of the sweep once it commits; beat does the rest."""
    if settings.GEOCODE_ENQUEUE_ON_COMMIT:
        transaction.on_commit(_enqueue_sweep)


def _enqueue_sweep() -> None:
    from .tasks import geocode_sweep

    try:
        geocode_sweep.apply_async(retry=False)
    except Exception as exc:
        logger.warning("Could not enqueue the geocoding sweep (%s); beat runs it anyway", exc)


def site_place(*, site_id: int, latitude, longitude) -> Site:
    """A person put the site's pin here (the dispatch board's map, the API): precision "manual",
    kept for this site from now on (geocoding never overwrites it). A point outside the region is
    refused (swapped latitude/longitude are taken the right way round)."""
    point = checked_point(latitude, longitude)
    if point is None:
        message = _("That point is outside the service region.")
        raise InvalidInput(message, fields={"latitude": [message]})
    with transaction.atomic():
        site = Site.objects.select_for_update().filter(pk=site_id).first()
        if site is None:
            raise NotFound(_("No such site."))
        site.latitude, site.longitude = _six(point[0]), _six(point[1])
        site.location_precision = Site.Precision.MANUAL
        site.located_at = timezone.now()
        site.save(update_fields=["latitude", "longitude", "location_precision", "located_at", "updated_at"])
    return site


# --- Customers, sites and equipment written through the API (customers/api.py) ----------------
# Each change is made from a version the caller read (``If-Match``, core/versions.py) and checked
# under the row's lock; a value another row of the same kind has (phone number, customer code,
# serial number, external reference) is a conflict (409) naming the field; nothing is written on
# any error.

# The unique fields of each model, with what the conflict says.
_UNIQUE = {
    Customer: {"phone": _lazy("Another customer has this phone number."),
               "code": _lazy("Another customer has this customer code."),
               "external_ref": _lazy("Another customer has this external reference.")},
    Site: {"external_ref": _lazy("Another site has this external reference.")},
    Equipment: {"serial": _lazy("Other equipment has this serial number."),
                "external_ref": _lazy("Other equipment has this external reference.")},
}


def _write(model, values: dict, write, *, pk=None):
    return write_unique(model, _UNIQUE[model], values, write, pk=pk)


def _clean_refs(values: dict) -> dict:
    """A blank external reference or customer code is none (NULL: unique only when set)."""
    return clean_refs(values, ("external_ref", "code"))


def _may_write(actor, customer_id: int | None) -> None:
    """Forbidden unless ``actor`` may change this customer's rows (None: create a customer)."""
    scope = customer_write_scope(actor)
    if scope[0] == "all":
        return
    if scope[0] == "customer" and customer_id is not None and customer_id == scope[1]:
        return
    if scope[0] == "customer":
        raise Forbidden(_("This API client may change only its own customer's records."))
    raise Forbidden(_("Only agents, dispatchers and managers may change customer records."))


# What a client restricted to one customer may not change of that customer: the phone number and the
# email address name the customer to the intake (a public-form request or an email from that number
# or address is filed as this customer's, and the client then reads it), and the tier, the customer
# code and the notes are the company's own records of the customer (the tier chooses the SLA).
OFFICE_OWNED_FIELDS = ("phone", "email", "tier", "code", "notes")


def _refuse_office_owned(actor, customer: Customer, changes: dict) -> None:
    """Forbidden, naming each field, when a client restricted to ``customer`` would change one of
    ``OFFICE_OWNED_FIELDS`` (sending the value the customer has is no change)."""
    if customer_write_scope(actor)[0] != "customer":
        return
    refused = [name for name in OFFICE_OWNED_FIELDS if name in changes and changes[name] != getattr(customer, name)]
    if refused:
        message = _("This API client may not change these fields of its customer: %(fields)s. "
                    "Ask the service company to change them.") % {"fields": ", ".join(refused)}
        raise Forbidden(message, code="office_owned", fields={
            name: [str(_("Only the service company changes this field."))] for name in refused
        })


def _writable_customer(actor, customer_id: int) -> Customer:
    """The customer a new site or piece of equipment belongs to: one ``actor`` sees (else 400
    naming the field: the id is the body's, not the address's) and may change (else 403)."""
    customer = customers_visible_to(actor).filter(pk=customer_id).first() if 0 < customer_id < 2**63 else None
    if customer is None:
        message = _("No such customer.")
        raise InvalidInput(message, fields={"customer": [message]})
    _may_write(actor, customer.pk)
    return customer


def _locked(queryset, pk: int, not_found: str):
    return locked_row(queryset, pk, not_found)


def _apply(model, row, changes: dict, if_match: list[str], stale: str):
    return apply_changes(model, _UNIQUE[model], row, changes, if_match, stale)


def customer_create(*, actor, values: dict) -> Customer:
    """A new customer (agents, dispatchers, managers, unrestricted API clients). ``values``:
    name, phone (any common form; kept in E.164) and optionally code, email, tier, language,
    notes, external_ref."""
    _may_write(actor, None)
    values = _clean_refs(dict(values))
    values["phone"] = normalize_phone(values.get("phone", ""))
    customer = Customer(**values)
    with transaction.atomic():
        _write(Customer, values, customer.save)
    return customer


def customer_update(*, actor, customer_id: int, changes: dict, if_match: list[str]) -> Customer:
    """Change a customer's details from the version ``if_match`` names (else 412, nothing written)."""
    changes = _clean_refs(dict(changes))
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    with transaction.atomic():
        customer = _locked(customers_visible_to(actor), customer_id, _("No such customer."))
        _may_write(actor, customer.pk)
        _refuse_office_owned(actor, customer, changes)
        customer, _diff = _apply(Customer, customer, changes, if_match, _(
            "Customer %(id)s was changed since you read it; read it again and re-apply your change."
        ) % {"id": customer.pk})
    return customer


def _site_values(values: dict, site: Site | None = None) -> dict:
    for name in ("latitude", "longitude"):
        if values.get(name) is not None:
            values[name] = _six(values[name])  # as the column keeps it: six decimal places
    if "address" in values:
        values["address"] = Site.normalize_address(values["address"])
    lat = values.get("latitude", site.latitude if site else None)
    lng = values.get("longitude", site.longitude if site else None)
    if (lat is None) != (lng is None):
        message = _("Give both the latitude and the longitude, or neither.")
        raise InvalidInput(message, fields={"latitude": [message], "longitude": [message]})
    return values


def site_create(*, actor, values: dict) -> Site:
    """A new site of a customer ``actor`` may change; located after commit (its coordinates, if
    given, checked against the region; else its address geocoded)."""
    values = _site_values(_clean_refs(dict(values)))
    customer = _writable_customer(actor, values.pop("customer"))
    site = Site(customer=customer, **values)
    with transaction.atomic():
        _write(Site, values, site.save)
        sites_locate_after_commit(site_ids=[site.pk])
    return site


def site_update(*, actor, site_id: int, changes: dict, if_match: list[str]) -> Site:
    """Change a site's label, address, city, coordinates or reference; a new address or point is
    located again after commit."""
    changes = _clean_refs(dict(changes))
    with transaction.atomic():
        site = _locked(Site.objects.filter(pk__in=sites_visible_to(actor).values("pk")), site_id, _("No such site."))
        _may_write(actor, site.customer_id)
        changes = _site_values(changes, site)
        address_changed = "address" in changes and changes["address"] != site.address
        point_changed = any(n in changes and changes[n] != getattr(site, n) for n in ("latitude", "longitude"))
        if address_changed or point_changed:
            probe = Site(address=changes.get("address", site.address), latitude=changes.get("latitude", site.latitude),
                         longitude=changes.get("longitude", site.longitude))
            site_locate_again(site=probe, address_changed=address_changed, point_changed=point_changed)
            changes.update(latitude=probe.latitude, longitude=probe.longitude, location_precision=probe.location_precision,
                           location_area=probe.location_area, located_at=probe.located_at)
        site, _diff = _apply(Site, site, changes, if_match, _(
            "Site %(id)s was changed since you read it; read it again and re-apply your change."
        ) % {"id": site.pk})
        if address_changed or point_changed:
            sites_locate_after_commit(site_ids=[site.pk])
    return site


def _equipment_values(values: dict, customer_id: int, equipment: Equipment | None = None) -> dict:
    if values.get("site") is not None:
        site = Site.objects.filter(pk=values["site"], customer_id=customer_id).first() \
            if 0 < values["site"] < 2**63 else None
        if site is None:
            message = _("Not a site of this equipment's customer.")
            raise InvalidInput(message, fields={"site": [message]})
        values["site"] = site
    install = values.get("install_date", equipment.install_date if equipment else None)
    end = values.get("warranty_end", equipment.warranty_end if equipment else None)
    if install and end and end < install:
        message = _("The warranty cannot end before the installation date.")
        raise InvalidInput(message, fields={"warranty_end": [message]})
    return values


def equipment_create(*, actor, values: dict) -> Equipment:
    """New equipment of a customer ``actor`` may change, at one of the customer's sites or none."""
    values = _clean_refs(dict(values))
    customer = _writable_customer(actor, values.pop("customer"))
    values = _equipment_values(values, customer.pk)
    equipment = Equipment(customer=customer, **values)
    with transaction.atomic():
        _write(Equipment, values, equipment.save)
    return equipment


def equipment_update(*, actor, equipment_id: int, changes: dict, if_match: list[str]) -> Equipment:
    """Change equipment's site (the customer's), serial, brand, model, dates or reference."""
    changes = _clean_refs(dict(changes))
    with transaction.atomic():
        equipment = _locked(Equipment.objects.filter(pk__in=equipment_visible_to(actor).values("pk")), equipment_id,
                            _("No such equipment."))
        _may_write(actor, equipment.customer_id)
        changes = _equipment_values(changes, equipment.customer_id, equipment)
        if "site" in changes:  # compared and written by id
            site = changes.pop("site")
            changes["site_id"] = site.pk if site is not None else None
        equipment, _diff = _apply(Equipment, equipment, changes, if_match, _(
            "Equipment %(id)s was changed since you read it; read it again and re-apply your change."
        ) % {"id": equipment.pk})
    return equipment
