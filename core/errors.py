"""The one application error type.

Services raise these; the API exception handler and the page views turn them
into responses (JSON with a status code, or a message on the page).
"""


class ApplicationError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def as_dict(self) -> dict:
        body = {"error": self.code, "detail": str(self.message)}
        if self.fields:
            body["fields"] = self.fields
        return body


class InvalidInput(ApplicationError):
    status_code = 400
    code = "invalid"


class Conflict(ApplicationError):
    """The request is valid but the object's current state does not allow it."""

    status_code = 409
    code = "conflict"


class Forbidden(ApplicationError):
    status_code = 403
    code = "forbidden"


class NotFound(ApplicationError):
    """Also used for objects the caller may not see, so as not to reveal they exist."""

    status_code = 404
    code = "not_found"


class ServiceUnavailable(ApplicationError):
    """Something the request needs (the file store) did not answer; nothing was saved, and the
    same request may well succeed a few minutes later."""

    status_code = 503
    code = "unavailable"


class Unprocessable(ApplicationError):
    """The request is well formed but cannot be carried out as it stands (e.g. an
    idempotency key already used for a different request)."""

    status_code = 422
    code = "unprocessable"


class PreconditionFailed(ApplicationError):
    """A change sent with a version (``If-Match``) the object no longer has: someone changed it
    since the caller read it. ``etag`` is the current version, for the answer's ``ETag``."""

    status_code = 412
    code = "stale"

    def __init__(self, message: str, *, etag: str, code: str | None = None, fields: dict | None = None):
        super().__init__(message, code=code, fields=fields)
        self.etag = etag

    def as_dict(self) -> dict:
        return {**super().as_dict(), "version": self.etag.strip('"')}


class PreconditionRequired(ApplicationError):
    """A change sent without the version it was made from (``If-Match``)."""

    status_code = 428
    code = "precondition_required"
