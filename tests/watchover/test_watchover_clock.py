"""The watch-over service's one clock in a simulated town (`watchover_clock = "devices"`): its status
never carries the server's own time; it is timed by the devices as soon as one reports."""

from __future__ import annotations

from datetime import timedelta

from watchover_town import INSIDE, T0


def test_a_devices_clock_shows_no_time_before_a_device_reports_then_the_devices_time(watch_town):
    service = watch_town.service
    service.clock = "devices"
    wall = T0 + timedelta(days=158)  # the server's real date, far from the simulated day
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.check(wall)
    status = watch_town.status()
    assert status["watchedResidents"] == 1
    assert "updatedAt" not in status

    watch_town.beacon(INSIDE, 10)  # the device's own time: T0 + 10 min
    watch_town.check(wall)
    assert watch_town.status()["updatedAt"] == "2026-07-03T00:10:00Z"

    watch_town.sensor(20)
    watch_town.check(wall + timedelta(minutes=5))  # the counts did not change: the status stands
    assert watch_town.status()["updatedAt"] == "2026-07-03T00:10:00Z"


def test_a_wall_clock_times_the_status_at_once(watch_town):
    watch_town.consent_both()
    watch_town.enrol()
    watch_town.check()
    assert watch_town.status()["updatedAt"] == "2026-07-03T00:00:00Z"  # the server's own time (T0)
