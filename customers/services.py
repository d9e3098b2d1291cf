from django.db import IntegrityError, transaction

from .models import Customer, Site


def customer_get_or_create_by_phone(*, phone: str, name: str, email: str = "", language: str = "") -> Customer:
    """The customer with this (normalised) phone number, created if new.

    A repeat caller keeps their record; an empty email on file is filled in.
    Two first-time requests from one number at the same moment make one customer:
    the unique phone column decides, and the loser reads the winner's row.
    """
    customer = Customer.objects.filter(phone=phone).first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    phone=phone, name=name, email=email, language=language or "zh-hans"
                )
        except IntegrityError:
            customer = Customer.objects.get(phone=phone)
    if email and not customer.email:
        customer.email = email
        customer.save(update_fields=["email"])
    return customer


def site_for_address(*, customer: Customer, address: str) -> Site:
    """The customer's site at this address, created if they have none there yet."""
    address = " ".join(address.split())
    site = customer.sites.filter(address__iexact=address).first()
    if site is None:
        site = Site.objects.create(customer=customer, address=address)
    return site
