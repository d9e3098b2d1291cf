from django.db import connection

from .models import Customer, Site


def _insert_customer_unless_phone_taken(values: dict) -> int | None:
    """INSERT ... ON CONFLICT (phone) DO NOTHING RETURNING id: the new id, or None if the
    number is already on file. One statement, no savepoint: a conflict does not abort the
    transaction (PostgreSQL, and SQLite 3.35 or later). A concurrent first request from
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
    values = {
        f.attname: f.get_default() for f in Customer._meta.concrete_fields if not f.primary_key
    }
    values.update(phone=phone, name=name, email=email, language=language or "zh-hans")
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
    address = " ".join(address.split())
    site = None
    if not customer_is_new:
        site = Site.objects.filter(customer_id=customer.pk, address__iexact=address).order_by("id").first()
    if site is None:
        site = Site.objects.create(customer=customer, address=address)
    return site
