"""The NGSI-LD temporal API (ETSI GS CIM 009 v1.8 clauses 4.5.6-4.5.9, 4.5.19, 5.6.11-5.6.16, 5.7.3-5.7.4).

`history` keeps every attribute instance a write produced; `web` serves /ngsi-ld/v1/temporal. See
docs/temporal.md.
"""
