"""Health linkage (健康): consenting residents' check-up records (特定健診) give a documented risk
indicator — the Japanese metabolic-syndrome criteria — written for the resident to read (docs/services.md)."""

from toshi.health.indicator import DECLARATIONS, PURPOSE  # noqa: F401
