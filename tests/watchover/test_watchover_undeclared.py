"""A tenant that has not declared the service's types as personal data: the service reads nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from starlette.testclient import TestClient
from watchover_town import OUTSIDE, T0, WatchTown

from toshi.app import create_app
from toshi.watchover import SERVICE_ID


@pytest.fixture
def undeclared_town(settings):
    with TestClient(create_app(dataclasses.replace(settings, auth=True))) as client:
        yield WatchTown(client, declare=False)


def test_without_declarations_the_service_reads_nothing(undeclared_town):
    undeclared_town.consent_both()
    undeclared_town.enrol()
    undeclared_town.beacon(OUTSIDE, 0, fall=True)
    undeclared_town.check(T0 + timedelta(hours=5))
    assert undeclared_town.alerts() == []
    assert [e for e in undeclared_town.access_log() if e["reader"] == SERVICE_ID] == []
