from rest_framework import viewsets


class WorkOrderViewSet(viewsets.GenericViewSet):
    """Placeholder until the API lands."""
