from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


# Model permissions each role gets in Django admin (master data).
ROLE_PERMISSIONS = {
    "manager": {
        "catalog": ["servicetype", "servicetypeskill", "skill", "servicetypepart", "checklistitem", "customfield", "part"],
        "customers": ["customer", "site", "equipment"],
        "technicians": ["technician", "technicianskill", "partnercompany"],
        "workorders": ["workorder", "workorderevent", "attachment"],
        "inventory": ["stocklocation", "stocklevel", "stockmove", "serialunit"],
        "sla": ["businesscalendar", "workinghours", "calendarday", "slapolicy", "escalationmatrix", "escalationlevel"],
        "knowledge": ["article", "category", "tag"],
        "contracts": ["contract"],
    },
    "dispatcher": {
        "customers": ["site", "equipment"],
        "technicians": ["technician", "technicianskill"],
        "workorders": ["workorder", "workorderevent"],
    },
    "agent": {
        "customers": ["customer", "site", "equipment"],
        "workorders": ["workorder", "workorderevent"],
    },
}
# Stock levels, the ledger and serial units change only through inventory.services (the ledger's
# "add" is the receive / transfer / adjust / return form, ROLE_EXTRA_PERMISSIONS).
READ_ONLY_MODELS = {"workorder", "workorderevent", "attachment", "stocklevel", "stockmove", "serialunit"}
# Permissions beyond view/add/change/delete, by role and app: importing and exporting master
# data from files (core/imports.py).
ROLE_EXTRA_PERMISSIONS = {
    "manager": {
        "customers": ["import_customer", "export_customer", "import_site", "export_site",
                      "import_equipment", "export_equipment"],
        "catalog": ["import_part", "export_part", "import_servicetype", "export_servicetype",
                    "import_skill", "export_skill"],
        "sla": ["import_calendarday", "export_calendarday"],
        "knowledge": ["import_article", "export_article"],
        "contracts": ["import_contract", "export_contract"],
        "inventory": ["add_stockmove"],
        "technicians": ["import_technician", "export_technician", "import_partnercompany", "export_partnercompany"],
    },
}


def grant_role_permissions(sender, **kwargs):
    """Keep each role group's admin permissions in step with ROLE_PERMISSIONS (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, apps in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        wanted = []
        for app_label, models in apps.items():
            for model in models:
                actions = ["view"] if model in READ_ONLY_MODELS else ["view", "add", "change", "delete"]
                if role != "manager" and model not in READ_ONLY_MODELS:
                    actions = ["view", "add", "change"]
                codenames = [f"{a}_{model}" for a in actions]
                wanted += list(
                    Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
                )
        for app_label, codenames in ROLE_EXTRA_PERMISSIONS.get(role, {}).items():
            wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        group.permissions.add(*wanted)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(grant_role_permissions, dispatch_uid="core.grant_role_permissions")
        connect_role_cache()
        from .auth import connect_auth_cache

        connect_auth_cache()


def connect_role_cache():
    """Drop the cached role names (core.roles.ROLE_CACHE) when memberships or groups change."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from .refcache import receiver_for
    from .roles import ROLE_CACHE

    user_model = get_user_model()
    bump = receiver_for(ROLE_CACHE)
    m2m_changed.connect(bump, sender=user_model.groups.through, weak=False, dispatch_uid="core.roles.membership")
    post_save.connect(bump, sender=Group, weak=False, dispatch_uid="core.roles.group-save")
    post_delete.connect(bump, sender=Group, weak=False, dispatch_uid="core.roles.group-delete")
    post_delete.connect(bump, sender=user_model, weak=False, dispatch_uid="core.roles.user-delete")
