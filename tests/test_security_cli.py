"""``teamdash init``, ``user add|passwd|deactivate|reactivate|unlock|list`` and
``settings``: secrets from prompts (here: standard input), never from arguments; account
changes need an administrator's password; one-line errors with exit 2."""

from __future__ import annotations

import io
import json
import sys

import pytest

from teamdash.errors import SignInFailed
from teamdash.services import accounts, audit, staff
from teamdash.services.auth import SYSTEM
from teamdash.storage import db
from tests.databases import url_of
from ui.cli import main

ADMIN_PASSWORD = "tea kettle 42"


def run(capsys, monkeypatch, *argv, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    db.close()
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def url(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    code, out, _ = run(capsys, monkeypatch, "--db", url, "init")
    assert code == 0 and "created an empty clinic database" in out
    code, out, err = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "user",
        "add",
        "ada",
        "--name",
        "Ada Admin",
        "--admin",
        stdin=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )
    assert (code, out.strip()) == (0, "added ada (administrator)"), err
    return url


def _open(url):
    from teamdash.services.clinic import open_clinic

    open_clinic(url)


def test_init_refuses_an_existing_file(url, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, "--db", url, "init")
    assert code == 2 and "already exists" in err


def test_adding_staff_needs_an_administrator(url, capsys, monkeypatch):
    args = ("--db", url, "user", "add", "riley", "--name", "Riley Brightwater", "--discipline", "pt")
    code, _, err = run(capsys, monkeypatch, *args, stdin="juniper tree 7\njuniper tree 7\n")
    assert code == 2 and "needs an administrator: add --as USERNAME" in err
    code, _, err = run(capsys, monkeypatch, *args, "--as", "ada", stdin="wrong admin\n")
    assert code == 2 and "password is wrong" in err
    code, out, err = run(
        capsys, monkeypatch, *args, "--as", "ada", stdin=f"{ADMIN_PASSWORD}\njuniper tree 7\njuniper tree 7\n"
    )
    assert code == 0 and "added riley (clinician); they choose their own password" in out, err
    _open(url)
    assert staff.find_by_username(SYSTEM, "riley").must_change_password
    created = audit.events(action_prefix="user.create")[0]
    assert created.actor_name == "Ada Admin" and created.workstation == audit.workstation()


def test_the_two_password_entries_must_match(url, capsys, monkeypatch):
    code, _, err = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "user",
        "add",
        "x1",
        "--name",
        "X One",
        "--role",
        "viewer",
        "--as",
        "ada",
        stdin=f"{ADMIN_PASSWORD}\nfirst password 1\nsecond password 2\n",
    )
    assert code == 2 and "the two entries differ" in err


def test_passwd_changes_your_own_or_resets_someone_elses(url, capsys, monkeypatch):
    _open(url)
    riley = staff.create_user(
        SYSTEM,
        username="riley",
        full_name="Riley Brightwater",
        role="clinician",
        discipline="pt",
        password="juniper tree 7",
    )
    db.close()
    code, out, err = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "user",
        "passwd",
        "riley",
        stdin="juniper tree 7\nmy own secret 1\nmy own secret 1\n",
    )
    assert code == 0 and "password of riley changed" in out, err
    code, out, _ = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "user",
        "passwd",
        "riley",
        "--as",
        "ada",
        stdin=f"{ADMIN_PASSWORD}\nreset secret 22\nreset secret 22\n",
    )
    assert code == 0 and "reset; they choose their own" in out
    _open(url)
    assert accounts.sign_in("riley", "reset secret 22").must_change_password
    assert staff.get_user(SYSTEM, riley.id).must_change_password


def test_deactivate_reactivate_unlock_and_list(url, capsys, monkeypatch):
    _open(url)
    staff.create_user(
        SYSTEM,
        username="quinn",
        full_name="Quinn Marrowby",
        role="clinician",
        discipline="nutrition",
        password="maple syrup 99",
        must_change_password=False,
    )
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInFailed):
            accounts.sign_in("quinn", "nope nope nope")
    db.close()
    code, out, _ = run(capsys, monkeypatch, "--db", url, "user", "list")
    quinn_line = next(line for line in out.splitlines() if line.startswith("quinn"))
    assert "locked" in quinn_line and "Nutrition" not in quinn_line and "nutrition" in quinn_line
    code, out, _ = run(
        capsys, monkeypatch, "--db", url, "user", "unlock", "quinn", "--as", "ada", stdin=f"{ADMIN_PASSWORD}\n"
    )
    assert (code, out.strip()) == (0, "quinn is unlocked")
    code, out, _ = run(
        capsys, monkeypatch, "--db", url, "user", "deactivate", "quinn", "--as", "ada", stdin=f"{ADMIN_PASSWORD}\n"
    )
    assert (code, out.strip()) == (0, "quinn is deactivated")
    code, out, _ = run(capsys, monkeypatch, "--db", url, "user", "list", "--json")
    assert [u["username"] for u in json.loads(out)] == ["ada"]
    code, out, _ = run(capsys, monkeypatch, "--db", url, "user", "list", "--all", "--json")
    quinn = next(u for u in json.loads(out) if u["username"] == "quinn")
    assert (quinn["active"], quinn["can_sign_in"], quinn["role"]) == (False, False, "clinician")
    code, out, _ = run(
        capsys, monkeypatch, "--db", url, "user", "reactivate", "quinn", "--as", "ada", stdin=f"{ADMIN_PASSWORD}\n"
    )
    assert (code, out.strip()) == (0, "quinn is active again")


def test_settings_show_and_change(url, capsys, monkeypatch, tmp_path):
    code, out, _ = run(capsys, monkeypatch, "--db", url, "settings")
    assert code == 0 and "lock_minutes         5" in out and "(default:" in out
    code, _, err = run(
        capsys, monkeypatch, "--db", url, "settings", "lock_minutes", "500", "--as", "ada", stdin=f"{ADMIN_PASSWORD}\n"
    )
    assert code == 2 and "lock_minutes" in err and "120" in err
    folder = tmp_path / "offsite"
    code, out, _ = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "settings",
        "backup_folder",
        str(folder),
        "--as",
        "ada",
        stdin=f"{ADMIN_PASSWORD}\n",
    )
    assert code == 0 and str(folder) in out


def test_import_as_a_named_user_needs_their_password(clinic, capsys, monkeypatch, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Clinic ID", "Instrument", "Taken at", "Item 1"])
    book.active.append(["TD-00001", "nrs_pain", "2026-11-26 09:00", 3])
    book.save(tmp_path / "m.xlsx")
    url = url_of(clinic)
    db.close()
    code, _, err = run(
        capsys, monkeypatch, "--db", url, "import", str(tmp_path / "m.xlsx"), "--user", "mquillfeather", stdin="guess\n"
    )
    assert code == 2 and "password is wrong" in err
    code, out, err = run(
        capsys,
        monkeypatch,
        "--db",
        url,
        "import",
        str(tmp_path / "m.xlsx"),
        "--user",
        "mquillfeather",
        stdin="demo-clinic-2026\n",
    )
    assert code == 0, err
    _open(url)
    assert audit.events(action_prefix="import", limit=1)[0].actor_name == "Morgan Quillfeather"
