from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        # Connected here, not when catalog.selectors is imported: a process that never reads
        # the service types (a worker) still drops the other processes' copies when it saves one.
        from core.refcache import receiver_for

        from .models import CustomField, Part, ServiceType, ServiceTypePart
        from .selectors import SERVICE_TYPES

        bump = receiver_for(SERVICE_TYPES)
        post_save.connect(bump, sender=ServiceType, weak=False, dispatch_uid="refcache-service-type-save")
        post_delete.connect(bump, sender=ServiceType, weak=False, dispatch_uid="refcache-service-type-delete")
        # The parts a service type needs are kept with the service types (catalog.selectors).
        post_save.connect(bump, sender=ServiceTypePart, weak=False, dispatch_uid="refcache-service-type-part-save")
        post_delete.connect(bump, sender=ServiceTypePart, weak=False, dispatch_uid="refcache-service-type-part-delete")
        # ... with their parts' numbers and whether they are active.
        post_save.connect(bump, sender=Part, weak=False, dispatch_uid="refcache-part-save")
        post_delete.connect(bump, sender=Part, weak=False, dispatch_uid="refcache-part-delete")
        # So are their custom fields.
        post_save.connect(bump, sender=CustomField, weak=False, dispatch_uid="refcache-custom-field-save")
        post_delete.connect(bump, sender=CustomField, weak=False, dispatch_uid="refcache-custom-field-delete")
