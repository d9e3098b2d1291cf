from django.apps import AppConfig


class ApiclientsConfig(AppConfig):
    name = "apiclients"
    verbose_name = "API clients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import auth, schema  # noqa: F401  the key cache's receivers, the OpenAPI security scheme

        auth.connect_key_cache()
