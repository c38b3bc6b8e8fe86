"""The fixtures of the consent tests (the town they run in: consent_town.py)."""

from consent_town import secure_settings, town  # noqa: F401 - fixtures
