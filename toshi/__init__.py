"""Toshi (都市): an open City OS — NGSI-LD and NGSI-v2 over one store."""

__version__ = "0.1.0"
