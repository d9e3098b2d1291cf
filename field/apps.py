from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "field"

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
