"""Residents in control of their personal data: declarations, consents, the read path's consent layer,
the access log, my-data export and erasure (docs/residents.md)."""
