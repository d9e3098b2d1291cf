"""The OpenAPI security scheme of an API client's key (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apiclients.auth.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API client's key, made in the admin (API clients) and shown once: send "
            "`Authorization: Api-Key <key>`. The client's scopes decide what it may read and change "
            "(403 otherwise), its restriction what it sees (404 otherwise), its rate how often it may ask "
            "(429 with `Retry-After`). A revoked, expired or unknown key answers 401.",
        }
