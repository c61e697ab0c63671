"""``make bench`` keeps working: every benchmark runs at a small size and prints its
figures; the exchange benchmark runs twice, its second run meeting the workbooks and
cached fixtures the first one left behind. (Timings are printed, never asserted.)"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3

import pytest
from openpyxl import load_workbook

from benchmarks import bench_exchange, bench_storage


@pytest.mark.slow
def test_the_exchange_benchmark_runs_twice_and_prints_every_comparison(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setattr(bench_exchange, "CACHE", cache)
    monkeypatch.setattr(bench_exchange, "EXPORT_ROWS", 1_200)
    monkeypatch.setattr(bench_exchange, "IMPORT_ROWS", 1_100)
    monkeypatch.setattr(bench_exchange, "EXPORT_REPEAT", 1)

    bench_exchange.run()
    bench_exchange.run()

    out = capsys.readouterr().out
    # The fixtures are built once and found by the second run.
    assert out.count("building the 1,200-measurement clinic (once)") == 1
    assert out.count("building the 1,100-row import files (once)") == 1
    assert out.count("export 1,200 measurements (long workbook)") == 2
    for suffix in ("xlsx", "csv"):
        assert out.count(f"import 1,100 measurement rows from .{suffix}") == 2
    assert out.count("reading, checks and storing alone (scored before, no summaries)") == 4

    # Both export workbooks hold every measurement; the second run replaced the first's.
    for name in ("export-ours.xlsx", "export-plain.xlsx"):
        workbook = load_workbook(cache / name, read_only=True)
        rows = list(workbook["Measurements"].iter_rows(values_only=True))
        workbook.close()
        assert len(rows) == 1 + 1_200, name
        assert rows[0][:2] == ("Patient ID", "Instrument"), name
    # The import fixtures are complete files under their final names, with nothing left
    # from building them.
    template, xlsx, csv_file = bench_exchange.import_fixtures()
    with contextlib.closing(sqlite3.connect(template)) as conn:
        assert conn.execute("SELECT count(*) FROM measurement").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM patient").fetchone()[0] > 0
    assert len(csv_file.read_text(encoding="utf-8").splitlines()) == 1 + 1_100
    assert xlsx.stat().st_size > 0
    assert not [p.name for p in cache.iterdir() if ".building" in p.name]
    assert not [p.name for p in cache.iterdir() if p.name.startswith(template.name) and p.name != template.name]


# Each benchmark at a size that runs in seconds: (module constants, environment, lines
# its output must have). Its fixtures are built in the test's own folder.
SMALL = {
    "audit": ({"EVENTS": 100}, {}, ["audit.record x100 (one transaction)", "audit.record_many x100", "verify_chain"]),
    "jobs": (
        {"JOBS": 10, "CHARTS": 2, "CLINIC_PATIENTS": 10},
        {},
        ["10 patient counts as database jobs", "2 patient charts as database jobs", "connections the jobs used  "],
    ),
    "registration": ({"PATIENTS": 500}, {}, ["likely duplicates (service vs every name)", "next free clinic ID"]),
    "search": ({}, {"TEAMDASH_BENCH_SIZES": "300"}, ["SQLite 0k slowest keystroke"]),
    "load": (
        {"PATIENTS": 12},
        {"TEAMDASH_LOAD_SECONDS": "1.5", "TEAMDASH_LOAD_WORKSTATIONS": "2"},
        ["SQLite: 2 workstations for 1.5 s", "SQLite: errors", "SQLite: consistency check"],
    ),
    "storage": (
        {"BULK_ROWS": 300, "LIST_PATIENTS": 12},
        {},
        ["bulk insert 300 measurements", "patient list page (100 rows) at 12", "one patient's full record at 12"],
    ),
    "ui": (
        {"COLD_START_PATIENTS": 8, "COLD_STARTS": 1, "LIST_PATIENTS": 12, "LIST_SCALE": 2},
        {},
        ["12 patients", "24 patients", "patient switch -> header, cards, timelines painted"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_benchmark_runs_at_a_small_size(name, tmp_path, monkeypatch, capsys, qapp):
    # ``qapp``: the Qt benchmarks (jobs, ui) share the suite's QApplication.
    module = importlib.import_module(f"benchmarks.bench_{name}")
    constants, environment, expected = SMALL[name]
    monkeypatch.setenv("TEAMDASH_BENCH_CACHE", str(tmp_path / "cache"))
    if hasattr(module, "CACHE"):
        monkeypatch.setattr(module, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(bench_storage, "CACHE", tmp_path / "storage-cache")  # jobs uses its clinic
    for constant, value in constants.items():
        assert hasattr(module, constant), constant
        monkeypatch.setattr(module, constant, value)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)

    module.run()

    out = capsys.readouterr().out
    for line in expected:
        assert line in out, f"{name}: {line!r} not in\n{out}"
    assert "ratio" in out or "best" in out or "operations per second" in out, out
