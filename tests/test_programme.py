"""The programme's clinical settings (resources/programme.toml) and the rules built on
them, which the panels, dialogs and workbooks share."""

from __future__ import annotations

import datetime as dt

import pytest

from teamdash import resources
from teamdash.clinical import disciplines, programme

TODAY = dt.date(2026, 11, 27)


def test_settings_come_from_the_programme_file():
    data = resources.load_toml(programme.FILE)
    found = programme.settings()
    assert found.se_target_pct == data["sleep"]["efficiency_target_pct"] == 85
    assert found.se_near_pct == data["sleep"]["efficiency_near_pct"] == 75
    assert found.recent_flare_days == data["flares"]["recent_days"] == 90
    assert found.recent_practice_weeks == data["home_practice"]["recent_weeks"] == 4


@pytest.fixture
def custom_programme(monkeypatch):
    """A clinic that sets its own thresholds: the rules follow the file."""

    def use(**sections: dict) -> None:
        data = {
            "sleep": {"efficiency_target_pct": 85, "efficiency_near_pct": 75},
            "flares": {"recent_days": 90},
            "home_practice": {"recent_weeks": 4},
        }
        for name, values in sections.items():
            data[name] = {**data[name], **values}
        monkeypatch.setattr(programme.resources, "load_toml", lambda *_parts: data)
        programme.settings.cache_clear()

    yield use
    programme.settings.cache_clear()


@pytest.mark.parametrize(
    ("efficiency", "rating"),
    [(None, None), (100, "met"), (85, "met"), (84.9, "near"), (75, "near"), (74.9, "below"), (0, "below")],
)
def test_sleep_efficiency_against_the_target(efficiency, rating):
    assert programme.se_rating(efficiency) == rating


def test_a_clinic_can_set_its_own_sleep_target(custom_programme):
    custom_programme(sleep={"efficiency_target_pct": 80})
    assert programme.se_rating(82) == "met"
    assert programme.se_rating(79) == "near"


def test_inconsistent_sleep_thresholds_are_refused(custom_programme):
    custom_programme(sleep={"efficiency_target_pct": 70, "efficiency_near_pct": 80})
    with pytest.raises(ValueError, match="efficiency_near_pct"):
        programme.settings()


def test_recent_flares_are_those_of_the_last_90_days():
    assert programme.recent_flares_since(TODAY) == dt.date(2026, 8, 29)
    assert programme.is_recent_flare(TODAY, TODAY)
    assert programme.is_recent_flare(TODAY - dt.timedelta(days=90), TODAY)
    assert not programme.is_recent_flare(TODAY - dt.timedelta(days=91), TODAY)
    starts = [TODAY - dt.timedelta(days=d) for d in (0, 30, 90, 91, 400)]
    assert programme.count_recent_flares(starts, TODAY) == 3


def test_recent_flare_window_follows_the_file(custom_programme):
    custom_programme(flares={"recent_days": 30})
    starts = [TODAY - dt.timedelta(days=d) for d in (0, 30, 31, 90)]
    assert programme.count_recent_flares(starts, TODAY) == 2


def test_recent_weeks_are_the_last_four_logged():
    assert programme.recent_weeks([10, 20, 30, 40, 50, 60]) == [30, 40, 50, 60]
    assert programme.recent_weeks([10, 20]) == [10, 20]
    assert programme.recent_weeks([]) == []


@pytest.mark.parametrize(("days", "weeks"), [(0, 0), (6, 0), (7, 1), (13, 1), (14, 2), (70, 10), (-3, 0)])
def test_weeks_in_phase_are_whole_weeks(days, weeks):
    assert programme.weeks_in_phase(TODAY - dt.timedelta(days=days), TODAY) == weeks
    assert programme.weeks_since(TODAY - dt.timedelta(days=days), TODAY) == weeks


def test_weeks_since_nothing_is_unknown():
    assert programme.weeks_since(None, TODAY) is None


def test_return_to_work_scale_runs_from_off_work_to_full_return():
    labels = {p.code: p.label for p in disciplines.rtw_phases()}
    assert programme.rtw_scale_position(0) == 0.0 and labels[0] == "Off work"
    assert programme.rtw_scale_position(5) == 1.0 and labels[5] == "Full return to work"
    assert programme.rtw_scale_position(2) == pytest.approx(0.4)
    assert programme.rtw_scale_position(9) is None and not programme.rtw_on_scale(9)  # not in paid work
    assert programme.rtw_scale_position(7) is None  # no such phase


@pytest.mark.parametrize(("current", "following"), [(None, 0), (0, 1), (3, 4), (5, 5), (9, 9)])
def test_next_return_to_work_phase(current, following):
    assert programme.next_rtw_phase(current) == following
