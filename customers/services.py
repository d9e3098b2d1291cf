from django.db import connection

from core.inserts import Insert, Part

from .models import Customer, Site
from .selectors import site_at_address


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
        customer.save(update_fields=["email"])
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
    return Insert("c", Customer, values, on_conflict="(phone) DO NOTHING")


def site_insert(*, customer_id: int | None, address: str, links: dict) -> Insert:
    """A new site at ``address`` as part ``"s"`` of a linked insert (``links``: the customer's
    id from an earlier part, when the customer is new too)."""
    site = Site(customer_id=customer_id, address=Site.normalize_address(address))
    values = {f.attname: getattr(site, f.attname) for f in Site._meta.concrete_fields if not f.primary_key}
    return Insert("s", Site, values, links=dict(links))


_FILL_EMAIL_SQL = "UPDATE customers_customer SET email = %s WHERE id = %s AND email = ''"


def customer_fill_email(customer: Customer, email: str) -> Part | None:
    """A repeat caller keeps their record; an empty email on file is filled in (as a part of
    the statement that writes their order), or None when there is nothing to fill."""
    if not email or customer.email:
        return None
    customer.email = email
    return Part("u", _FILL_EMAIL_SQL, (email, customer.pk))
