"""`toshi migrate --to postgresql://...`: a 100,000-entity SQLite town copied to PostgreSQL while its
server runs, the verification count, and a server on PostgreSQL answering the same queries; a
non-empty target refused without --force; the progress bar."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
from support import ServerProcess

from toshi.core.write import Writer
from toshi.operations.migrate import ProgressBar, count_rows
from toshi.store.sqlite import SqliteStore
from toshi.temporal.history import history_for

LD = "/ngsi-ld/v1"
NS = "https://uri.etsi.org/ngsi-ld/default-context/"
TOWN_SIZE = 100_000
BATCH = 10_000
AT = "2026-11-25T00:00:00.000Z"


def shelter(n: int) -> dict:
    """A Shelter as the store keeps it (expanded names), with a capacity and a location."""
    return {"id": f"urn:ngsi-ld:Shelter:{n}", "type": [NS + "Shelter"], "createdAt": AT, "modifiedAt": AT,
            "attrs": {NS + "capacity": [{"type": "Property", "value": n % 100, "createdAt": AT, "modifiedAt": AT}],
                      "https://uri.etsi.org/ngsi-ld/location": [
                          {"type": "GeoProperty", "createdAt": AT, "modifiedAt": AT,
                           "value": {"type": "Point", "coordinates": [135.0 + (n % 1000) / 1000, 34.82]}}]}}


def replaced_by(entity: dict):
    return lambda before: entity


def build_town(data_dir, count: int) -> None:
    """`count` Shelters written through the one write path in big batches, with their history (as the
    app records it), without an HTTP request each."""
    async def build() -> None:
        store = SqliteStore(data_dir / "toshi.db")
        await store.open()
        try:
            writer = Writer(store)
            writer.listeners.append(history_for(store).record)
            for start in range(0, count, BATCH):
                await writer.apply("", [(f"urn:ngsi-ld:Shelter:{n}", replaced_by(shelter(n)))
                                        for n in range(start, min(count, start + BATCH))])
        finally:
            await store.close()
    asyncio.run(build())


QUERIES = [f"{LD}/entities?type=Shelter&q=capacity>97&limit=1000&count=true",
           f"{LD}/entities?type=Shelter&q=capacity==42&georel=near;maxDistance==4000&geometry=Point"
           "&coordinates=[135.5,34.82]&limit=1000&count=true",
           f"{LD}/entities/urn:ngsi-ld:Shelter:99999",
           f"{LD}/temporal/entities/urn:ngsi-ld:Shelter:12345?timeproperty=modifiedAt"]


def answers(server: ServerProcess) -> list:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        replies = [http.get(path) for path in QUERIES]
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    return [(r.json(), r.headers.get("NGSILD-Results-Count")) for r in replies]


def test_migrate_a_hundred_thousand_entities_while_serving(tmp_path, pg_url, cli, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    started = time.monotonic()
    build_town(data_dir, TOWN_SIZE)
    built = time.monotonic()
    sqlite_server = ServerProcess(data_dir).start()  # the SQLite server keeps serving during the copy
    try:
        before = answers(sqlite_server)
        assert before[0][1] == str(2 * TOWN_SIZE // 100) and before[1][1] == str(TOWN_SIZE // 1000)
        assert [i["value"] for i in before[3][0]["capacity"]] == [45]  # the history came along
        code, out, err = cli("migrate", "--to", pg_url, "--data-dir", str(data_dir))
        migrated = time.monotonic()
        assert code == 0, err
        assert answers(sqlite_server) == before  # still serving
    finally:
        sqlite_server.stop()
    assert "100%" in err and f"{TOWN_SIZE}/{TOWN_SIZE}" in err  # the progress bar, table by table
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.endswith(("OK", "DIFFERS"))}
    assert table["entities"] == [str(TOWN_SIZE), str(TOWN_SIZE), "OK"]
    assert table["attr_history"] == [str(2 * TOWN_SIZE), str(2 * TOWN_SIZE), "OK"]
    assert all(status == "OK" for *_, status in table.values())
    assert "OK: every table in PostgreSQL holds the rows" in out and "TOSHI_DATABASE_URL=" in out
    assert count_rows(pg_url, ["entities", "temporal_entities"]) == {"entities": TOWN_SIZE, "temporal_entities": TOWN_SIZE}

    monkeypatch.setenv("TOSHI_DATABASE_URL", pg_url)  # the next step, as the command says
    pg_server = ServerProcess(data_dir).start()
    try:
        assert answers(pg_server) == before
        with httpx.Client(base_url=pg_server.url) as http:  # and it takes writes, numbered after the old ones
            assert http.patch(f"{LD}/entities/urn:ngsi-ld:Shelter:1/attrs/capacity", json={"value": 98}).status_code == 204
            count = http.get(f"{LD}/entities?type=Shelter&q=capacity>97&count=true&limit=1").headers["NGSILD-Results-Count"]
            assert count == str(2 * TOWN_SIZE // 100 + 1)
    finally:
        pg_server.stop()
    print(f"\n{TOWN_SIZE} entities: built in {built - started:.1f} s, migrated in {migrated - built:.1f} s")


def test_migrate_refuses_a_town_in_postgresql_without_force(tmp_path, pg_url, cli):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    build_town(data_dir, 10)
    assert cli("migrate", "--to", pg_url, "--data-dir", str(data_dir))[0] == 0
    build_town(data_dir, 20)  # more since: migrate again to take them
    code, out, err = cli("migrate", "--to", pg_url, "--data-dir", str(data_dir))
    assert code == 2 and "--force" in err and "entities" in err
    assert count_rows(pg_url, ["entities"]) == {"entities": 10}
    code, out, err = cli("migrate", "--to", pg_url, "--data-dir", str(data_dir), "--force")
    assert code == 0, err
    assert count_rows(pg_url, ["entities"]) == {"entities": 20}


def test_migrate_needs_a_postgresql_url_and_a_town(tmp_path, cli):
    code, _, err = cli("migrate", "--to", "mysql://x/y", "--data-dir", str(tmp_path))
    assert code == 2 and "postgresql://" in err
    code, _, err = cli("migrate", "--to", "postgresql://127.0.0.1/x", "--data-dir", str(tmp_path / "none"))
    assert code == 2 and "no Toshi database" in err


def test_progress_bar():
    out = io.StringIO()
    bar = ProgressBar(out, live=False)
    for done in (0, 5_000, 10_000):
        bar("entities", done, 10_000)
    bar("meta", 0, 0)
    bar("meta", 0, 0)
    assert out.getvalue().splitlines() == [ProgressBar.line("entities", 10_000, 10_000), ProgressBar.line("meta", 0, 0)]
    assert "[" + "#" * ProgressBar.WIDTH + "]" in out.getvalue() and "100%" in out.getvalue()
    live = io.StringIO()
    bar = ProgressBar(live, live=True)  # on a terminal: rich's live bar
    bar("entities", 0, 4)
    bar("entities", 2, 4)
    bar("entities", 4, 4)
    bar.close()
    assert "entities" in live.getvalue() and "4/4" in live.getvalue() and "100%" in live.getvalue()
    assert " 50%" in ProgressBar.line("x", 2, 4) and "2/4" in ProgressBar.line("x", 2, 4)
