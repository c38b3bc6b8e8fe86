"""`toshi personal-data declare|list|remove` on a stopped server's data, then the declaration at work."""

from __future__ import annotations

import json

from toshi.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_declare_list_remove(tmp_path, capsys, settings, monkeypatch):
    data = str(tmp_path / "data")
    if settings.database_url:
        monkeypatch.setenv("TOSHI_DATABASE_URL", settings.database_url)
    code, out, _ = run(capsys, "personal-data", "declare", "Patient", "--subject", "patient", "--attr",
                       "diagnosis=sensitive", "--attr", "phone=personal", "--tenant", "city", "--id", "patients",
                       "--data-dir", data)
    assert code == 0 and json.loads(out)["attributes"] == {"diagnosis": "sensitive", "phone": "personal"}
    code, out, _ = run(capsys, "personal-data", "list", "--tenant", "city", "--data-dir", data)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["patients"]
    assert run(capsys, "personal-data", "remove", "patients", "--tenant", "city", "--data-dir", data)[0] == 0
    assert run(capsys, "personal-data", "list", "--tenant", "city", "--data-dir", data)[1] == ""
    assert run(capsys, "personal-data", "remove", "patients", "--tenant", "city", "--data-dir", data)[0] == 1


def test_an_unknown_category_is_refused(tmp_path, capsys, settings, monkeypatch):
    if settings.database_url:
        monkeypatch.setenv("TOSHI_DATABASE_URL", settings.database_url)
    code, _, err = run(capsys, "personal-data", "declare", "Patient", "--subject", "patient", "--attr",
                       "diagnosis=secret", "--data-dir", str(tmp_path / "data"))
    assert code == 1 and "category" in err
