"""Extracts for research: a dataset for one recipient and purpose, only of consenting residents,
pseudonymised per recipient, generalised and k-anonymous, with a signed manifest (docs/residents.md)."""
