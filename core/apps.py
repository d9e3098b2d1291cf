from django.apps import AppConfig
from django.db.models.signals import post_migrate


# Model permissions each role gets in Django admin (master data).
ROLE_PERMISSIONS = {
    "manager": {
        "customers": ["customer", "site", "equipment"],
        "technicians": ["technician", "technicianskill", "partnercompany", "skill"],
        "workorders": ["servicetype", "servicetypeskill", "workorder", "workorderevent", "attachment"],
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
READ_ONLY_MODELS = {"workorder", "workorderevent", "attachment"}


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
        group.permissions.add(*wanted)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        post_migrate.connect(grant_role_permissions, dispatch_uid="core.grant_role_permissions")
