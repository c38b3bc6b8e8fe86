"""Constants and small helpers shared by the test suites."""

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
LD = {"Content-Type": "application/ld+json"}


def error_type(response) -> str:
    return response.json()["type"].removeprefix(ERRORS)
