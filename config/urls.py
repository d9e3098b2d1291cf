from csp.decorators import csp_update
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    # The API first: Django tries the patterns in order, and the includes mounted at "" below
    # are walked pattern by pattern before a later prefix is reached (work per API request).
    path("api/v1/", include("config.api_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Public pages (/request/, /track/<token>/) and the agents' phone intake.
    path("", include("workorders.urls_intake")),
    path("staff/work-orders/", include("workorders.urls_staff")),
    path("dispatch/", include("dispatch.urls")),
    path("tech/", include("field.urls")),  # the technicians' mobile pages
    path("", include("completion.urls")),  # reviews, service report PDFs
    path("survey/", include("workorders.urls_survey")),  # the customer's satisfaction survey
    path("staff/escalations/", include("workorders.urls_escalations")),  # open escalations, call-backs
    path("staff/stock/", include("inventory.urls")),  # stock locations, levels and the ledger
    path("staff/maintenance/", include("maintenance.urls")),  # the plan calendar
    path("staff/triage/", include("triage.urls")),  # accepting a suggestion on a new order's page
    path("kb/", include("knowledge.urls")),
    path("reports/", include("reports.urls")),  # managers' KPI dashboard and exports
    path("staff/", include("customer360.urls")),  # customer search, customer page, equipment history
    path("", include("email_intake.urls")),  # /staff/email/ (emails waiting for an agent), /inbound/email/
    # The API's description, for staff unless API_DOCS_PUBLIC (core.api.ApiDocsPermission). Swagger UI's
    # start-up script comes from its own address (?script), not inline, so the page keeps the site's CSP.
    path("api/schema/", core_views.api_docs_page(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/docs/", core_views.api_docs_page(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
         name="api-docs"),
    # ReDoc styles its page with <style> elements it writes at run time and parses the schema
    # in a blob: worker; only this page's policy allows them (the rest of the site's does not).
    path("api/redoc/", core_views.api_docs_page(
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema"))), name="api-redoc"),
]

# Under /api/ these answer in the API's error shape (core/views.py).
handler400 = "core.views.bad_request"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
