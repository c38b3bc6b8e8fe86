"""Accept negotiation (ETSI GS CIM 009 v1.8 clause 6.3.4, with RFC 9110 12.5.1): each representation the
operation offers takes the weight of the most specific media range matching it, a weight of 0 refuses
it, the highest weight wins and equal weights go to the range named first."""

from __future__ import annotations

import pytest

from toshi.core.errors import NotAcceptable
from toshi.formats.ngsild_http import GEO_JSON, JSON, LD_JSON, _negotiate

OFFERED = (JSON, LD_JSON, GEO_JSON)


@pytest.mark.parametrize(("accept", "chosen"), [
    ("application/json;q=0, */*", LD_JSON),  # the exact range decides over the wildcard
    ("application/json;q=0, application/ld+json", LD_JSON),
    ("*/*;q=0.9, application/ld+json;q=0.8", JSON),  # the wildcard's weight applies to JSON
    ("application/*;q=0.5, application/ld+json;q=0.4", JSON),
    ("application/ld+json, application/json", LD_JSON),
    ("application/json;q=0.5, application/ld+json;q=0.9", LD_JSON),
    ("application/geo+json;q=0.3, */*;q=0.2", GEO_JSON),
    ("*/*", JSON),
    ("", JSON),
])
def test_the_most_specific_range_gives_the_weight(accept, chosen):
    assert _negotiate(accept, OFFERED) == chosen


@pytest.mark.parametrize("accept", ["application/json;q=0", "text/*", "*/*;q=0", "application/json;q=0, text/html"])
def test_nothing_acceptable_is_not_acceptable(accept):
    with pytest.raises(NotAcceptable):
        _negotiate(accept, OFFERED)
