"""The FIWARE NGSI-v2 API (as Orion implements it) over the same store as NGSI-LD. See docs/ngsi-v2.md."""
