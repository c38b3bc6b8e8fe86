"""NGSI-LD errors (ETSI GS CIM 009, clause 5.5.2) as exceptions that render to ProblemDetails.

Every feature raises these; the HTTP layers turn them into `application/json` ProblemDetails
(NGSI-LD) or `{"error", "description"}` bodies (NGSI-v2).
"""

from __future__ import annotations

ERROR_BASE = "https://uri.etsi.org/ngsi-ld/errors/"


class NgsiError(Exception):
    """Base class: `kind` is the ProblemDetails type suffix, `status` the HTTP status."""

    kind = "InternalError"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str = "", *, status: int | None = None, title: str | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title

    @property
    def type_uri(self) -> str:
        return ERROR_BASE + self.kind

    def problem(self) -> dict:
        return {"type": self.type_uri, "title": self.title, "status": self.status, "detail": self.detail}


class InternalError(NgsiError):
    pass


class InvalidRequest(NgsiError):
    kind, status, title = "InvalidRequest", 400, "Invalid request"


class BadRequestData(NgsiError):
    kind, status, title = "BadRequestData", 400, "Bad request data"


class AlreadyExists(NgsiError):
    kind, status, title = "AlreadyExists", 409, "Already exists"


class OperationNotSupported(NgsiError):
    kind, status, title = "OperationNotSupported", 422, "Operation not supported"


class ResourceNotFound(NgsiError):
    kind, status, title = "ResourceNotFound", 404, "Resource not found"


class TooComplexQuery(NgsiError):
    kind, status, title = "TooComplexQuery", 403, "Too complex query"


class TooManyResults(NgsiError):
    kind, status, title = "TooManyResults", 403, "Too many results"


class LdContextNotAvailable(NgsiError):
    kind, status, title = "LdContextNotAvailable", 503, "JSON-LD @context not available"


class InvalidContext(NgsiError):
    # Spec name for a @context that was retrieved but is not a valid JSON-LD context.
    kind, status, title = "BadRequestData", 400, "Invalid JSON-LD @context"


class NoMultiTenantSupport(NgsiError):
    kind, status, title = "NoMultiTenantSupport", 501, "No multi-tenant support"


class NonexistentTenant(NgsiError):
    kind, status, title = "NonexistentTenant", 404, "Nonexistent tenant"


class NotAcceptable(NgsiError):
    kind, status, title = "NotAcceptable", 406, "Not acceptable"


class UnsupportedMediaType(NgsiError):
    kind, status, title = "UnsupportedMediaType", 415, "Unsupported media type"


class PayloadTooLarge(NgsiError):
    kind, status, title = "BadRequestData", 413, "Payload too large"


class MethodNotAllowed(NgsiError):
    kind, status, title = "InvalidRequest", 405, "Method not allowed"


class ServiceUnavailable(NgsiError):
    kind, status, title = "InternalError", 503, "Service unavailable"


class Unauthorized(NgsiError):
    """No valid credentials (ETSI defines no type for it: Toshi's own namespace)."""

    kind, status, title = "Unauthorized", 401, "Unauthorized"

    @property
    def type_uri(self) -> str:
        return "urn:toshi:errors:Unauthorized"


class Forbidden(NgsiError):
    """Valid credentials that do not allow this (ETSI defines no type for it: Toshi's own namespace)."""

    kind, status, title = "Forbidden", 403, "Forbidden"

    @property
    def type_uri(self) -> str:
        return "urn:toshi:errors:Forbidden"


class StoreUnavailable(ServiceUnavailable):
    """The database cannot be reached (PostgreSQL down or restarting): nothing was written."""

    title = "Database unavailable"
