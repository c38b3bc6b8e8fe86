"""docs/grafana-dashboard.json: a dashboard Grafana can import, whose every query asks for metrics and
labels that Toshi's /metrics really gives."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from support import free_port

from toshi.app import create_app
from toshi.config import Settings

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def queries(dashboard: dict) -> list[str]:
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    found += [v["query"] for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "query"]
    return found


def test_the_dashboard_is_one_grafana_can_import():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["panels"] and isinstance(dashboard["schemaVersion"], int)
    assert all(target.get("expr") for panel in dashboard["panels"] for target in panel.get("targets", []))
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_metric_and_label_the_dashboard_asks_for_is_served(tmp_path):
    # an IoT broker configured (here one that is not there), as the dashboard's "IoT broker connected" wants
    settings = Settings(data_dir=str(tmp_path), iot_mqtt_url=f"mqtt://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        client.post("/ngsi-ld/v1/entities", json={"id": "urn:ngsi-ld:Shelter:1", "type": "Shelter"})
        exposition = client.get("/metrics").text
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    for query in queries(json.loads(DASHBOARD.read_text())):
        names = re.findall(r"\btoshi_[a-z_]+", query)
        assert names, query
        for name in names:
            assert name in labels, f"{name} (in {query}) is not in /metrics"
        wanted = {label for group in re.findall(r"by \(([^)]*)\)", query) for label in group.split(",")}
        wanted |= set(re.findall(r"\b([a-z]+)=~?\"", query))
        wanted = {label.strip() for label in wanted} - {"le", "instance"}  # le: buckets; instance: Prometheus'
        for name in names:
            assert wanted <= labels[name] | ({"le"} if name.endswith("_bucket") else set()), (query, labels[name])
