"""TeamDash works installed from its wheel, not only from the checkout: the wheel carries
the instrument, discipline and style files; installed into a fresh environment outside
the checkout it lists the instruments, builds a demo clinic and renders the dashboard.
The lock file pins every version pyproject.toml asks for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    pins = {}
    for requirement in wanted:
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^;\s]+)", requirement)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_the_lock_file_pins_what_pyproject_asks_for():
    locked = dict(
        re.findall(r"^([a-z0-9_.-]+)==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), flags=re.MULTILINE)
    )
    locked = {name.replace("_", "-"): version for name, version in locked.items()}
    for name, version in _pins().items():
        assert locked.get(name) == version, f"{name}=={version} is not in requirements.lock; run `make lock`"
    assert "pyside6-essentials" in locked and locked["pyside6-essentials"].startswith(
        "6.11."
    )  # not 6.12 (none_dealloc)
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return next(out.glob("teamdash-*.whl"))


def test_the_wheel_carries_the_data_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT / "resources").as_posix() for p in (ROOT / "resources").rglob("*") if p.is_file()}
    assert shipped, "resources/ is empty"
    for name in shipped:
        assert f"teamdash/resources_data/{name}" in names, f"{name} is missing from the wheel"
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


@pytest.mark.slow
def test_the_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    """A fresh environment: the wheel (non-editable) with the locked dependencies."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(ROOT / "requirements.lock")],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    teamdash = env_dir / "bin" / "teamdash"
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(teamdash), *argv], cwd=outside, env=env, capture_output=True, text=True, timeout=300)

    where = run("--version")
    assert where.returncode == 0 and where.stdout.startswith("teamdash ")
    located = subprocess.run(
        [
            str(python),
            "-c",
            "import teamdash, teamdash.resources as r; print(teamdash.__file__); print(r.resources_dir())",
        ],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    module_file, data_dir = located.stdout.split()
    assert str(ROOT) not in module_file and str(ROOT) not in data_dir  # really the installed copy
    listed = run("instruments", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "phq9" in listed.stdout and "nrs_pain" in listed.stdout
    db = tmp_path / "clinic.sqlite3"
    demo = run("--db", f"sqlite:///{db}", "demo", "--patients", "5")
    assert demo.returncode == 0 and "5 patients" in demo.stdout, demo.stderr
    shot = tmp_path / "shot.png"
    gui = run("--db", f"sqlite:///{db}", "gui", "--screenshot", str(shot), "--size", "1200x800")
    assert gui.returncode == 0, gui.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
