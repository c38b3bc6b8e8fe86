"""/ngsi-ld/v1/csourceRegistrations (ETSI GS CIM 009 v1.8 clauses 5.2.9, 5.9, 5.10, 4.3.6)."""

from __future__ import annotations

PREFIX = "/ngsi-ld/v1/csourceRegistrations"


def registration(**extra) -> dict:
    body = {"type": "ContextSourceRegistration",
            "information": [{"entities": [{"type": "Shelter"}], "propertyNames": ["occupancy"]}],
            "endpoint": "http://town-b.example.org"}
    body.update(extra)
    return body


def bad(response, detail_part: str = "") -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert problem["status"] == 400 and detail_part in problem["detail"]


def test_create_answers_201_with_location(client):
    created = client.post(PREFIX, json=registration(id="urn:ngsi-ld:ContextSourceRegistration:b"))
    assert created.status_code == 201
    assert created.headers["Location"] == f"{PREFIX}/urn:ngsi-ld:ContextSourceRegistration:b"


def test_create_without_id_assigns_one(client):
    created = client.post(PREFIX, json=registration())
    location = created.headers["Location"]
    assert location.startswith(f"{PREFIX}/urn:ngsi-ld:ContextSourceRegistration:")
    assert client.get(location).json()["id"] == location.removeprefix(PREFIX + "/")


def test_retrieve_gives_the_registration_with_defaults(client):
    client.post(PREFIX, json=registration(id="urn:x:1", registrationName="town B",
                                          management={"timeout": 2000, "localOnly": True}))
    assert client.get(f"{PREFIX}/urn:x:1").json() == {
        "id": "urn:x:1", "type": "ContextSourceRegistration",
        "information": [{"entities": [{"type": "Shelter"}], "propertyNames": ["occupancy"]}],
        "endpoint": "http://town-b.example.org", "registrationName": "town B",
        "management": {"timeout": 2000, "localOnly": True},
        "mode": "inclusive", "operations": ["federationOps"]}


def test_sys_attrs_adds_created_and_modified(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    got = client.get(f"{PREFIX}/urn:x:1?options=sysAttrs").json()
    assert got["createdAt"] == got["modifiedAt"] and got["createdAt"].endswith("Z")


def test_terms_are_expanded_on_input_and_compacted_on_output(client):
    body = {**registration(id="urn:x:1"), "@context": {"Shelter": "https://city.example/Shelter",
                                                        "occupancy": "https://city.example/occupancy"}}
    assert client.post(PREFIX, json=body, headers={"Content-Type": "application/ld+json"}).status_code == 201
    plain = client.get(f"{PREFIX}/urn:x:1").json()
    assert plain["information"] == [{"entities": [{"type": "https://city.example/Shelter"}],
                                     "propertyNames": ["https://city.example/occupancy"]}]
    # discovery by the expanded type finds it; by the core-context term it does not
    assert [r["id"] for r in client.get(PREFIX + "?type=https://city.example/Shelter").json()] == ["urn:x:1"]
    assert client.get(PREFIX + "?type=Shelter").json() == []


def test_duplicate_id_is_409_already_exists(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    again = client.post(PREFIX, json=registration(id="urn:x:1"))
    assert again.status_code == 409
    assert again.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"


def test_wrong_type_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(type="Registration")), "type must be")


def test_information_is_mandatory(client):
    body = registration()
    del body["information"]
    bad(client.post(PREFIX, json=body), "information is mandatory")


def test_endpoint_is_mandatory(client):
    body = registration()
    del body["endpoint"]
    bad(client.post(PREFIX, json=body), "endpoint is mandatory")


def test_endpoint_must_be_http(client):
    bad(client.post(PREFIX, json=registration(endpoint="ftp://x.example")), "endpoint must be")


def test_empty_information_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(information=[])), "non-empty array")


def test_empty_registration_info_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(information=[{}])), "needs entities")


def test_entity_info_needs_a_type(client):
    bad(client.post(PREFIX, json=registration(information=[{"entities": [{"id": "urn:a"}]}])), "must have a type")


def test_entity_info_id_must_be_a_uri(client):
    bad(client.post(PREFIX, json=registration(information=[{"entities": [{"type": "A", "id": "nope"}]}])),
        "must be a URI")


def test_invalid_id_pattern_is_bad_request(client):
    response = client.post(PREFIX, json=registration(information=[{"entities": [{"type": "A", "idPattern": "(("}]}]))
    assert response.status_code == 400


def test_property_names_must_be_a_non_empty_array(client):
    bad(client.post(PREFIX, json=registration(information=[{"propertyNames": []}])), "propertyNames")


def test_unknown_mode_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(mode="sometimes")), "mode must be")


def test_unknown_operation_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(operations=["retrieveEntity", "teleport"])), "teleport")


def test_operation_groups_and_single_operations_are_accepted(client):
    ops = ["federationOps", "updateOps", "retrieveOps", "redirectionOps", "createEntity"]
    client.post(PREFIX, json=registration(id="urn:x:1", operations=ops))
    assert client.get(f"{PREFIX}/urn:x:1").json()["operations"] == ops


def test_unknown_management_member_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(management={"retries": 3})), "management")


def test_management_timeout_must_be_positive(client):
    bad(client.post(PREFIX, json=registration(management={"timeout": 0})), "positive")


def test_management_cache_duration_must_be_a_duration(client):
    bad(client.post(PREFIX, json=registration(management={"cacheDuration": "soon"})), "duration")


def test_context_source_info_must_be_key_value_pairs(client):
    bad(client.post(PREFIX, json=registration(contextSourceInfo=[{"key": "a"}])), "contextSourceInfo")


def test_context_source_info_secrets_are_masked_on_output(client):
    info = [{"key": "Authorization", "value": "Bearer secret"}, {"key": "X-Town", "value": "B"}]
    client.post(PREFIX, json=registration(id="urn:x:1", contextSourceInfo=info))
    assert client.get(f"{PREFIX}/urn:x:1").json()["contextSourceInfo"] == [
        {"key": "Authorization", "value": "********"}, {"key": "X-Town", "value": "B"}]


def test_expires_at_in_the_past_is_bad_request(client):
    bad(client.post(PREFIX, json=registration(expiresAt="2000-01-01T00:00:00Z")), "not in the future")


def test_system_members_cannot_be_given(client):
    bad(client.post(PREFIX, json=registration(status="ok")), "set by the broker")


def test_exclusive_must_name_entity_ids(client):
    bad(client.post(PREFIX, json=registration(mode="exclusive")), "entity id")


def test_exclusive_must_name_attributes(client):
    info = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}]}]
    bad(client.post(PREFIX, json=registration(mode="exclusive", information=info)), "attributes")


def test_overlapping_exclusive_registrations_are_409_conflict(client):
    info = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["occupancy", "capacity"]}]
    assert client.post(PREFIX, json=registration(mode="exclusive", information=info)).status_code == 201
    other = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["capacity"]}]
    clash = client.post(PREFIX, json=registration(mode="exclusive", information=other,
                                                  endpoint="http://town-c.example.org"))
    assert clash.status_code == 409
    assert clash.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/Conflict"


def test_exclusive_registrations_of_other_attributes_do_not_conflict(client):
    one = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["occupancy"]}]
    two = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["capacity"]}]
    assert client.post(PREFIX, json=registration(mode="exclusive", information=one)).status_code == 201
    assert client.post(PREFIX, json=registration(mode="exclusive", information=two)).status_code == 201


def test_redirect_overlapping_an_exclusive_is_409_conflict(client):
    info = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["occupancy"]}]
    client.post(PREFIX, json=registration(mode="exclusive", information=info))
    clash = client.post(PREFIX, json=registration(mode="redirect", information=[{"entities": [{"type": "Shelter"}]}]))
    assert clash.status_code == 409


def test_inclusive_may_overlap_an_exclusive(client):
    info = [{"entities": [{"type": "Shelter", "id": "urn:s:1"}], "propertyNames": ["occupancy"]}]
    client.post(PREFIX, json=registration(mode="exclusive", information=info))
    assert client.post(PREFIX, json=registration()).status_code == 201


def test_redirect_must_name_entities(client):
    bad(client.post(PREFIX, json=registration(mode="redirect", information=[{"propertyNames": ["a"]}])), "redirect")


def test_auxiliary_cannot_support_updates(client):
    bad(client.post(PREFIX, json=registration(mode="auxiliary", operations=["updateOps"])), "auxiliary")


def test_auxiliary_with_retrieval_operations_is_accepted(client):
    assert client.post(PREFIX, json=registration(mode="auxiliary", operations=["retrieveOps"])).status_code == 201


def test_private_endpoint_is_refused_when_outbound_private_is_denied(tmp_path):
    from starlette.testclient import TestClient

    from toshi.app import create_app
    from toshi.config import Settings

    with TestClient(create_app(Settings(data_dir=str(tmp_path), outbound_private="deny"))) as denied:
        bad(denied.post(PREFIX, json=registration(endpoint="http://127.0.0.1:1026")), "refused")
        assert denied.get(PREFIX).json() == []


def test_query_by_type(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    client.post(PREFIX, json=registration(id="urn:x:2", information=[{"entities": [{"type": "Road"}]}]))
    assert [r["id"] for r in client.get(PREFIX + "?type=Road").json()] == ["urn:x:2"]


def test_query_by_id_matches_id_pattern_and_type_only_registrations(client):
    client.post(PREFIX, json=registration(id="urn:x:1", information=[
        {"entities": [{"type": "Shelter", "idPattern": "^urn:s:1"}]}]))
    client.post(PREFIX, json=registration(id="urn:x:2", information=[{"entities": [{"type": "Shelter", "id": "urn:s:2"}]}]))
    client.post(PREFIX, json=registration(id="urn:x:3"))
    assert [r["id"] for r in client.get(PREFIX + "?id=urn:s:10").json()] == ["urn:x:1", "urn:x:3"]


def test_query_by_id_pattern(client):
    client.post(PREFIX, json=registration(id="urn:x:1", information=[{"entities": [{"type": "S", "id": "urn:s:b1"}]}]))
    client.post(PREFIX, json=registration(id="urn:x:2", information=[{"entities": [{"type": "S", "id": "urn:s:c1"}]}]))
    assert [r["id"] for r in client.get(PREFIX + "?idPattern=:b").json()] == ["urn:x:1"]


def test_query_by_attrs(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    client.post(PREFIX, json=registration(id="urn:x:2", information=[{"entities": [{"type": "Shelter"}],
                                                                      "propertyNames": ["capacity"]}]))
    client.post(PREFIX, json=registration(id="urn:x:3", information=[{"entities": [{"type": "Shelter"}]}]))
    assert [r["id"] for r in client.get(PREFIX + "?attrs=capacity").json()] == ["urn:x:2", "urn:x:3"]


def test_query_by_geo_uses_the_registration_location(client):
    client.post(PREFIX, json=registration(id="urn:x:1", location={"type": "Point", "coordinates": [135.47, 34.82]}))
    client.post(PREFIX, json=registration(id="urn:x:2", location={"type": "Point", "coordinates": [139.7, 35.7]}))
    client.post(PREFIX, json=registration(id="urn:x:3"))
    near = client.get(PREFIX, params={"georel": "near;maxDistance==5000", "geometry": "Point",
                                      "coordinates": "[135.48,34.82]"})
    assert [r["id"] for r in near.json()] == ["urn:x:1"]


def test_query_by_csf_on_the_registration_properties(client):
    client.post(PREFIX, json=registration(id="urn:x:1", prefecture="Osaka"))
    client.post(PREFIX, json=registration(id="urn:x:2", prefecture="Hyogo"))
    assert [r["id"] for r in client.get(PREFIX + '?csf=prefecture=="Osaka"').json()] == ["urn:x:1"]


def test_additional_properties_are_returned(client):
    client.post(PREFIX, json=registration(id="urn:x:1", prefecture="Osaka"))
    assert client.get(f"{PREFIX}/urn:x:1").json()["prefecture"] == "Osaka"


def test_query_q_is_operation_not_supported(client):
    response = client.get(PREFIX + "?q=occupancy>3")
    assert response.status_code == 422
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported"


def test_query_pagination_and_count(client):
    for n in range(3):
        client.post(PREFIX, json=registration(id=f"urn:x:{n}"))
    page = client.get(PREFIX + "?limit=2&offset=1&count=true")
    assert [r["id"] for r in page.json()] == ["urn:x:1", "urn:x:2"]
    assert page.headers["NGSILD-Results-Count"] == "3"


def test_expired_registrations_are_not_discovered(client):
    import time

    from toshi.core.times import in_seconds

    client.post(PREFIX, json=registration(id="urn:x:1", expiresAt=in_seconds(0.3)))
    time.sleep(0.5)
    assert client.get(PREFIX).json() == []


def test_tenants_are_separate(client):
    tenant = {"NGSILD-Tenant": "townb"}
    client.post(PREFIX, json=registration(id="urn:x:1"), headers=tenant)
    assert client.get(f"{PREFIX}/urn:x:1").status_code == 404
    assert [r["id"] for r in client.get(PREFIX, headers=tenant).json()] == ["urn:x:1"]


def test_query_of_a_nonexistent_tenant_is_404(client):
    response = client.get(PREFIX, headers={"NGSILD-Tenant": "nowhere"})
    assert response.status_code == 404
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant"


def test_patch_replaces_the_given_members(client):
    client.post(PREFIX, json=registration(id="urn:x:1", description="old"))
    assert client.patch(f"{PREFIX}/urn:x:1", json={"description": "new", "mode": "auxiliary",
                                                  "operations": ["retrieveOps"]}).status_code == 204
    got = client.get(f"{PREFIX}/urn:x:1?options=sysAttrs").json()
    assert (got["description"], got["mode"], got["operations"]) == ("new", "auxiliary", ["retrieveOps"])
    assert got["modifiedAt"] >= got["createdAt"]


def test_patch_with_null_removes_an_optional_member(client):
    client.post(PREFIX, json=registration(id="urn:x:1", description="old"))
    client.patch(f"{PREFIX}/urn:x:1", json={"description": None})
    assert "description" not in client.get(f"{PREFIX}/urn:x:1").json()


def test_patch_that_breaks_a_mode_rule_changes_nothing(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    bad(client.patch(f"{PREFIX}/urn:x:1", json={"mode": "exclusive"}), "entity id")
    assert client.get(f"{PREFIX}/urn:x:1").json()["mode"] == "inclusive"


def test_patch_cannot_remove_the_endpoint(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    bad(client.patch(f"{PREFIX}/urn:x:1", json={"endpoint": None}), "mandatory")


def test_patch_of_an_unknown_registration_is_404(client):
    response = client.patch(f"{PREFIX}/urn:x:9", json={"description": "x"})
    assert response.status_code == 404
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


def test_delete_then_retrieve_is_404(client):
    client.post(PREFIX, json=registration(id="urn:x:1"))
    assert client.delete(f"{PREFIX}/urn:x:1").status_code == 204
    missing = client.get(f"{PREFIX}/urn:x:1")
    assert missing.status_code == 404
    assert missing.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


def test_delete_of_an_unknown_registration_is_404(client):
    assert client.delete(f"{PREFIX}/urn:x:9").status_code == 404


def test_registration_id_must_be_a_uri(client):
    bad(client.get(f"{PREFIX}/not-a-uri"), "not a URI")


# -- a temporal query over the registrations' observationInterval / managementInterval (4.11)

def _with_intervals(client) -> None:
    client.post(PREFIX, json=registration(id="urn:x:march", observationInterval={
        "startAt": "2026-03-01T00:00:00Z", "endAt": "2026-03-31T00:00:00Z"}))
    client.post(PREFIX, json=registration(id="urn:x:open", observationInterval={"startAt": "2026-06-01T00:00:00Z"},
                                          managementInterval={"startAt": "2026-01-01T00:00:00Z",
                                                              "endAt": "2026-02-01T00:00:00Z"}))
    client.post(PREFIX, json=registration(id="urn:x:none"))


def _found(client, query: str) -> list[str]:
    got = client.get(f"{PREFIX}?{query}")
    assert got.status_code == 200, got.text
    return sorted(r["id"] for r in got.json())


def test_timerel_before_finds_intervals_starting_before(client):
    _with_intervals(client)
    assert _found(client, "timerel=before&timeAt=2026-04-01T00:00:00Z") == ["urn:x:march"]


def test_timerel_after_finds_intervals_ending_after_or_open(client):
    _with_intervals(client)
    assert _found(client, "timerel=after&timeAt=2026-03-15T00:00:00Z") == ["urn:x:march", "urn:x:open"]


def test_timerel_between_finds_overlapping_intervals(client):
    _with_intervals(client)
    assert _found(client, "timerel=between&timeAt=2026-04-01T00:00:00Z&endTimeAt=2026-07-01T00:00:00Z") == \
        ["urn:x:open"]


def test_timeproperty_management_interval(client):
    _with_intervals(client)
    assert _found(client, "timerel=before&timeAt=2026-01-15T00:00:00Z&timeproperty=managementInterval") == \
        ["urn:x:open"]


def test_timerel_without_time_at_is_bad_request(client):
    bad(client.get(PREFIX + "?timerel=before"), "timeAt")


def test_timeproperty_of_entities_is_bad_request_for_registrations(client):
    bad(client.get(PREFIX + "?timerel=before&timeAt=2026-01-01T00:00:00Z&timeproperty=observedAt"), "timeproperty")


def test_between_needs_end_time_at(client):
    bad(client.get(PREFIX + "?timerel=between&timeAt=2026-01-01T00:00:00Z"), "endTimeAt")
