from django.db.models import Prefetch

from .models import Customer, Equipment


def customer_find_by_phone(*, phone: str) -> Customer | None:
    """A repeat caller with their sites and equipment, for the intake page."""
    return (
        Customer.objects.filter(phone=phone)
        .prefetch_related("sites", Prefetch("equipment", queryset=Equipment.objects.select_related("site")))
        .first()
    )
