from django.db.models import OuterRef, Prefetch, Subquery

from .models import Customer, Equipment, Site


def customer_find_by_phone(*, phone: str) -> Customer | None:
    """A repeat caller with their sites and equipment, for the intake page."""
    return (
        Customer.objects.filter(phone=phone)
        .prefetch_related("sites", Prefetch("equipment", queryset=Equipment.objects.select_related("site")))
        .first()
    )


def site_at_address(*, customer_id: int, address: str) -> Site | None:
    """The customer's (first) site at this address (spaces normalised, any letter case), if any."""
    return _sites_at(address).filter(customer_id=customer_id).first()


def customer_with_site_at(*, phone: str, address: str) -> Customer | None:
    """The customer with this phone number, with ``site_here``: the id of their site at this
    address, or None (one query)."""
    return (
        Customer.objects.filter(phone=phone)
        .annotate(site_here=Subquery(_sites_at(address).filter(customer_id=OuterRef("pk")).values("id")[:1]))
        .first()
    )


def _sites_at(address: str):
    return Site.objects.filter(address__iexact=Site.normalize_address(address)).order_by("id")
