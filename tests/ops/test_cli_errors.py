"""Every command-line failure ends in one sentence that says what to do, with a non-zero exit code and
no traceback (unless --debug), through the real `toshi` command line: in this process (`here`) where
the failure comes before anything starts, in a process of its own where what the process prints or
may do is the point (a port in use, a user's file rights, the mistyped flag, --debug). A second server
on a served data directory: test_admin_while_serving.py, which has a server running."""

from __future__ import annotations

import fcntl
import socket
import sqlite3

import psycopg
import pytest
from cli_support import bound_by_file_modes, one_line_error, toshi
from support import PG_SERVER, PgSchema, free_port, require_postgres


def test_a_port_out_of_range_is_refused_with_the_settings_name(tmp_path, here):
    message = one_line_error(here("serve", "--data-dir", str(tmp_path), "--port", "99999"))
    assert "setting port must be from 1 to 65535, not 99999" in message


def usage_and_one_error(done) -> str:
    """stderr is the (sub)command's usage and then exactly one error line; no traceback. The error line."""
    assert done.returncode == 2 and done.stdout == "", done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("usage: ") and "Traceback" not in done.stderr, done.stderr
    usage = 1
    while usage < len(lines) and lines[usage].startswith(" "):  # the usage's continuation lines
        usage += 1
    assert len(lines) == usage + 1, done.stderr
    return lines[0] + "\n" + lines[-1]


def test_a_mistyped_serve_flag_prints_the_usage_of_serve_and_one_error(tmp_path):
    said = usage_and_one_error(toshi("serve", "--prot", "1027", "--data-dir", str(tmp_path / "town")))
    assert said.startswith("usage: toshi serve ")
    assert said.endswith("toshi serve: error: unrecognized arguments: --prot (did you mean --port?) 1027 "
                         "(see toshi serve --help)")
    assert not (tmp_path / "town").exists()  # nothing started, nothing made


def test_a_flag_without_its_value_prints_the_usage_of_serve_and_one_error(here):
    said = usage_and_one_error(here("serve", "--port"))
    assert said.startswith("usage: toshi serve ") and said.endswith("error: argument --port: expected one argument")


def test_a_mistyped_flag_of_a_nested_command_prints_that_commands_usage(tmp_path, here):
    done = here("key", "create", "--name", "a", "--role", "*:admin", "--grup", "x", "--data-dir", str(tmp_path))
    said = usage_and_one_error(done)
    assert said.startswith("usage: toshi key create ") and "--grup (did you mean --group" in said
    assert list(tmp_path.iterdir()) == []  # no key made


def test_a_bad_variable_names_the_setting(tmp_path, here):
    message = one_line_error(here("serve", "--data-dir", str(tmp_path), env={"TOSHI_AUTH": "maybe"}))
    assert "setting auth must be true or false, not 'maybe'" in message and "TOSHI_AUTH" in message


def test_a_bad_value_in_the_toml_file_names_the_setting(tmp_path, here):
    config = tmp_path / "toshi.toml"
    config.write_text('[toshi]\nmax_limit = "lots"\n')
    message = one_line_error(here("serve", "--config", str(config), "--data-dir", str(tmp_path / "d")))
    assert "setting max_limit must be a whole number, not 'lots'" in message


def test_a_port_in_use_is_said_before_startup_completes(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = toshi("serve", "--data-dir", str(tmp_path), "--port", str(port))
    message = one_line_error(done)
    assert f"port {port} on 127.0.0.1 is already in use" in message and "--port" in message
    assert "startup complete" not in done.stdout + done.stderr


def test_a_data_directory_that_is_a_file(tmp_path, here):
    (tmp_path / "town").write_text("not a directory")
    message = one_line_error(here("serve", "--data-dir", str(tmp_path / "town"), "--port", str(free_port())))
    assert "is a file, not a directory" in message and "--data-dir" in message


def test_a_management_command_on_a_data_directory_that_is_a_file(tmp_path, here):
    (tmp_path / "town").write_text("not a directory")
    message = one_line_error(here("key", "list", "--data-dir", str(tmp_path / "town")))
    assert "is a file, not a directory" in message


@pytest.fixture
def read_only_town(tmp_path, here):
    """A town whose data directory and files its owner may no longer write (chmod -R a-w)."""
    town = tmp_path / "town"
    assert here("key", "create", "--name", "admin", "--role", "*:admin", "--data-dir", str(town)).returncode == 0
    for path in (town, *town.rglob("*")):
        path.chmod(path.stat().st_mode & ~0o222)
    yield town
    for path in (town, *town.rglob("*")):
        path.chmod(path.stat().st_mode | 0o200)


def test_an_unwritable_data_directory_stops_serve(read_only_town):
    message = one_line_error(toshi("serve", "--data-dir", str(read_only_town), "--port", str(free_port()),
                                   prefix=bound_by_file_modes()))
    assert f"{read_only_town} is not writable by" in message and "chmod -R u+rwX" in message


def test_an_unwritable_data_directory_stops_a_management_command(read_only_town):
    done = toshi("key", "create", "--name", "b", "--role", "*:admin", "--data-dir", str(read_only_town),
                 prefix=bound_by_file_modes())
    message = one_line_error(done)
    assert "permission denied on" in message and "read-only" in message


def test_an_unwritable_data_directory_stops_a_backup(read_only_town, tmp_path):
    done = toshi("backup", str(tmp_path / "b.gz"), "--data-dir", str(read_only_town), prefix=bound_by_file_modes())
    message = one_line_error(done)
    assert "the SQLite database cannot be written" in message and "chmod -R u+rwX" in message


def test_a_data_directory_held_by_another_process_that_serves_nothing(tmp_path, here):
    town = tmp_path / "town"
    town.mkdir()
    with open(town / "toshi.db.lock", "w") as held:  # as a restore in progress holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        message = one_line_error(here("key", "list", "--data-dir", str(town)))
    assert "holds" in message and "run this command again" in message


def test_an_unreachable_postgresql_for_a_management_command(tmp_path, here):
    message = one_line_error(here("key", "list", "--data-dir", str(tmp_path),
                                   "--database-url", "postgresql://toshi:secret@127.0.0.1:1/town"))
    assert "cannot reach PostgreSQL" in message and "secret" not in message


def test_an_unreachable_postgresql_stops_serve(tmp_path, here):
    done = here("serve", "--data-dir", str(tmp_path), "--port", str(free_port()),
                 "--database-url", "postgresql://toshi:secret@127.0.0.1:1/town")
    message = one_line_error(done)
    assert "cannot reach PostgreSQL" in message and "secret" not in message
    assert done.returncode == 2


def _schema_behind(town) -> None:
    town.mkdir()
    db = sqlite3.connect(town / "toshi.db")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    db.commit()
    db.close()


def test_a_schema_behind_stops_serve_with_what_to_do(tmp_path, here):
    _schema_behind(tmp_path / "town")
    message = one_line_error(here("serve", "--data-dir", str(tmp_path / "town"), "--port", str(free_port())))
    assert "schema version 0" in message and "toshi db upgrade" in message


def test_a_schema_behind_stops_a_management_command_too(tmp_path, here):
    _schema_behind(tmp_path / "town")
    message = one_line_error(here("key", "list", "--data-dir", str(tmp_path / "town")))
    assert "toshi db upgrade" in message


def test_a_postgresql_schema_behind_stops_serve(tmp_path, here):
    require_postgres()
    schema = PgSchema()
    try:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {schema.name}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(f"INSERT INTO {schema.name}.meta VALUES ('schema_version', '0')")
        done = here("serve", "--data-dir", str(tmp_path), "--port", str(free_port()), "--database-url", schema.url)
        message = one_line_error(done)
        assert "schema version 0" in message and "toshi db upgrade" in message
    finally:
        schema.drop()


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "town").write_text("not a directory")
    done = toshi("--debug", "key", "list", "--data-dir", str(tmp_path / "town"))
    assert done.returncode != 0 and "Traceback" in done.stderr
