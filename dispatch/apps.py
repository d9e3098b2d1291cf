from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"

    def ready(self):
        from . import permissions  # noqa: F401 (registers the rules: core/permissions.py)
        from workorders.lifecycle import register_check

        from . import services

        # Assigning and re-assigning run dispatch's rules (skills, partner scope, shift, bookings,
        # capacity) with the order and the technician locked. The functions are looked up in
        # dispatch.services at each call, so that module stays the one place that defines them.
        def check_one(**kwargs):
            return services.technician_check_assignable(**kwargs)

        def check_many(**kwargs):
            return services.technicians_check_assignable_many(**kwargs)

        register_check("assign", one=check_one, many=check_many)
        register_check("reassign", one=check_one)

        from workorders.selectors import register_customer_page_part

        from .selectors import workorder_arrival_part

        # The customer's tracking page: the arrival estimate while the technician is en route.
        register_customer_page_part(workorder_arrival_part)
