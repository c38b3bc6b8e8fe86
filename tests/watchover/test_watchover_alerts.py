"""Watch-over through the real app: default deny (no consent, no declarations, a revoked consent),
the three alerts, who may read them, and the access log of every read."""

from __future__ import annotations

from datetime import timedelta

from watchover_town import ENROLMENT, INSIDE, OUTSIDE, T0, resident_id

from toshi.watchover import SERVICE_ID


def test_without_consent_nothing_is_read_and_nothing_raised(watch_town):
    watch_town.enrol()
    watch_town.beacon(OUTSIDE, 0, fall=True)
    watch_town.check(T0 + timedelta(hours=5))
    assert watch_town.alerts() == []
    assert watch_town.access_log() == []
    assert watch_town.status()["watchedResidents"] == 0


def test_a_pass_outside_the_area_alerts_the_watcher(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(INSIDE, 0)
    watch_town.check()
    watch_town.beacon(OUTSIDE, 10)
    watch_town.check()
    alerts = watch_town.alerts()
    assert [(a["kind"], a["watched"], a["watcher"], a["evidenceAt"]) for a in alerts] == \
        [("outOfArea", resident_id(1), resident_id(2), "2026-07-03T00:10:00Z")]
    assert alerts[0]["location"] == {"type": "Point", "coordinates": OUTSIDE}


def test_a_pass_inside_the_area_raises_nothing(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(INSIDE, 0)
    watch_town.check()
    assert watch_town.alerts() == []
    assert watch_town.status()["watchedResidents"] == 1


def test_an_excursion_raises_one_alert_until_the_person_is_back(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    for minutes, where in ((0, OUTSIDE), (5, OUTSIDE), (10, INSIDE), (15, OUTSIDE)):
        watch_town.beacon(where, minutes)
        watch_town.check()
    assert sorted(a["evidenceAt"] for a in watch_town.alerts()) == ["2026-07-03T00:00:00Z", "2026-07-03T00:15:00Z"]


def test_a_fall_like_event_alerts(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(INSIDE, 3, fall=True)
    watch_town.check()
    assert [a["kind"] for a in watch_town.alerts()] == ["fall"]


def test_a_quiet_spell_longer_than_allowed_alerts(watch_town):
    watch_town.consent_both()
    watch_town.enrol(quiet_minutes=60)
    watch_town.beacon(INSIDE, 0)
    watch_town.sensor(30)
    watch_town.check(T0 + timedelta(minutes=80))
    assert watch_town.alerts() == []
    watch_town.check(T0 + timedelta(minutes=91))
    alerts = watch_town.alerts()
    assert [(a["kind"], a["evidenceAt"]) for a in alerts] == [("noActivity", "2026-07-03T00:30:00Z")]
    watch_town.check(T0 + timedelta(minutes=200))
    assert len(watch_town.alerts()) == 1  # one alert per quiet spell


def test_the_watcher_reads_the_alert_for_the_purpose(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(OUTSIDE, 0)
    watch_town.check()
    daughter = watch_town.resident(2)
    assert [a["kind"] for a in watch_town.alerts(daughter, "watch-over")] == ["outOfArea"]
    assert watch_town.alerts(daughter, "marketing") == []


def test_someone_without_consent_does_not_see_the_alert(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(OUTSIDE, 0)
    watch_town.check()
    neighbour = watch_town.resident(3)
    provider = watch_town.key("some-service", ["toyono:consumer"])
    assert watch_town.alerts(neighbour, "watch-over") == []
    assert watch_town.alerts(provider, "watch-over") == []


def test_every_read_of_the_service_is_in_the_access_log(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.beacon(OUTSIDE, 0)
    watch_town.check()
    reads = [e for e in watch_town.access_log() if e["reader"] == SERVICE_ID]
    assert {e["purpose"] for e in reads} == {"watch-over"}
    assert {entity for e in reads for entity in e["entities"]} >= {ENROLMENT, "urn:ngsi-ld:WatchBeacon:b1"}


def test_a_revoked_consent_stops_the_alerts(watch_town):
    consent = watch_town.consent(SERVICE_ID)
    watch_town.consent(resident_id(2))
    watch_town.enrol()
    watch_town.beacon(INSIDE, 0)
    watch_town.check()
    r = watch_town.client.delete(f"/consent/residents/{resident_id(1)}/consents/{consent['id']}",
                                 headers=watch_town.ld(watch_town.admin))
    assert r.status_code == 204, r.text
    watch_town.beacon(OUTSIDE, 10, fall=True)
    watch_town.check(T0 + timedelta(hours=5))
    assert watch_town.alerts() == []


def test_a_device_about_someone_else_is_not_watched(watch_town):
    watch_town.consent_both()
    watch_town.consent(SERVICE_ID, n=4)
    watch_town.enrol()
    watch_town.beacon(OUTSIDE, 0, wearer=4)  # resident 4's beacon named in resident 1's enrolment
    watch_town.check()
    assert watch_town.alerts() == []


def test_an_enrolment_without_devices_is_counted_invalid(watch_town):
    watch_town.consent_both()
    watch_town.put({"id": ENROLMENT, "type": "WatchOverEnrolment",
                    "watched": {"type": "Relationship", "object": resident_id(1)},
                    "watcher": {"type": "Property", "value": resident_id(2)}})
    watch_town.check()
    status = watch_town.status()
    assert (status["watchedResidents"], status["invalidEnrolments"]) == (0, 1)


def test_a_consent_given_after_the_enrolment_starts_the_watch(watch_town):
    watch_town.enrol()
    watch_town.beacon(INSIDE, 0)
    watch_town.check()
    assert watch_town.status()["watchedResidents"] == 0
    watch_town.consent_both()
    watch_town.check()
    assert watch_town.status()["watchedResidents"] == 1
