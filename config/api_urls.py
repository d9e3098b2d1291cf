from django.urls import include, path
from rest_framework.routers import DefaultRouter

from workorders.api import WorkOrderViewSet

router = DefaultRouter()
router.register("work-orders", WorkOrderViewSet, basename="workorder")

urlpatterns = [path("", include(router.urls))]
