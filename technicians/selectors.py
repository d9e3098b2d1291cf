"""Reads of technicians for the API."""

from django.db.models import QuerySet

from core import roles as R

from .models import Technician


def technician_visible_to(user) -> QuerySet:
    """The technicians ``user`` may see, as on the pages: office roles (and superusers) every
    one, a partner technician their company's, a technician themselves, an API client all or its partner company's (none when
    restricted to a customer), anyone else none."""
    if user is None or not user.is_authenticated:
        return Technician.objects.none()
    names = R.roles_of(user)
    if user.is_superuser or names & R.OFFICE_ROLES:
        return Technician.objects.all()
    if R.INTEGRATION in names:  # an API client: all, its partner company's, none for a customer's
        scope = R.client_scope(user)
        if scope[0] == "all":
            return Technician.objects.all()
        if scope[0] == "partner":
            return Technician.objects.filter(partner_company_id=scope[1])
        return Technician.objects.none()
    own = Technician.objects.filter(user=user).values("pk", "partner_company_id").first()
    if own is None:
        return Technician.objects.none()
    if R.PARTNER_TECHNICIAN in names and own["partner_company_id"]:
        return Technician.objects.filter(partner_company_id=own["partner_company_id"])
    if names & R.FIELD_ROLES:
        return Technician.objects.filter(pk=own["pk"])
    return Technician.objects.none()




def technicians_for_api(user) -> QuerySet:
    """``technician_visible_to`` with what the API shows of each one (its login, skills, shifts)."""
    return technician_visible_to(user).select_related("user").prefetch_related("skill_levels__skill", "shifts")
