from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (``manage.py seed_demo``): sits above every other app, since a believable
    world needs all of them, and nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
