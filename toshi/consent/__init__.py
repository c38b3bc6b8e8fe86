"""Residents in control of their personal data: declarations, consents, the read path's consent layer,
the access log, my-data export and erasure (docs/residents.md)."""

from toshi.consent.recipients import Consented, RecipientView  # noqa: E402,F401  (research extracts)
from toshi.consent.service import ConsentService  # noqa: E402,F401  (a command's consent service)


def consent_service_of(app) -> ConsentService:
    """The running consent feature's service (its caches are the ones every change clears)."""
    return app.state.consent.service
