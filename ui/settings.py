"""What the window remembers between sessions (QSettings), and the UI scale.

Ctrl+= / Ctrl+- scale the whole UI for a projector: the application font, every size
in the stylesheet (fonts, paddings, borders) and the timelines' fonts follow one factor.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from teamdash import resources

SCALE_MIN, SCALE_MAX, SCALE_STEP = 0.8, 2.0, 0.1
BASE_POINT_SIZE = 10.0
STYLESHEET = ("styles", "clinical.qss")
_SIZE = re.compile(r"(?<![\w#.-])(\d+(?:\.\d+)?)(px|pt)\b")


def clamp_scale(scale: float) -> float:
    return round(min(SCALE_MAX, max(SCALE_MIN, scale)), 2)


@cache
def stylesheet_template() -> str:
    return resources.path(*STYLESHEET).read_text(encoding="utf-8")


def scaled_stylesheet(text: str, scale: float) -> str:
    """Every ``Npx``/``Npt`` in ``text`` times ``scale`` (hairlines stay at least 1px)."""

    def scaled(match: re.Match[str]) -> str:
        value = float(match[1]) * scale
        if match[2] == "px":
            return f"{max(1, round(value)) if float(match[1]) > 0 else 0}px"
        return f"{value:.1f}pt"

    return _SIZE.sub(scaled, text)


def apply_scale(app: QApplication, scale: float) -> None:
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE * scale)
    app.setFont(font)
    app.setStyleSheet(scaled_stylesheet(stylesheet_template(), scale))


class Settings:
    """Typed access to the window's QSettings."""

    def __init__(self, qsettings: QSettings):
        self.q = qsettings

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def _int(self, key: str) -> int | None:
        value = self.q.value(key)
        try:
            return int(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    # window
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def splitter(self, name: str) -> QByteArray | None:
        return self._bytes(f"splitters/{name}")

    def save_splitter(self, name: str, state: QByteArray) -> None:
        self.q.setValue(f"splitters/{name}", state)

    def list_header(self) -> QByteArray | None:
        return self._bytes("list/header")

    def save_list_header(self, state: QByteArray) -> None:
        self.q.setValue("list/header", state)

    # patient
    def last_patient(self) -> int | None:
        return self._int("patient/last")

    def save_last_patient(self, patient_id: int | None) -> None:
        self.q.setValue("patient/last", patient_id if patient_id is not None else "")

    def list_sort(self) -> tuple[str, bool] | None:
        key = self.q.value("list/sort")
        return (str(key), self.q.value("list/descending") in (True, "true", "1")) if key else None

    def save_list_sort(self, key: str, descending: bool) -> None:
        self.q.setValue("list/sort", key)
        self.q.setValue("list/descending", "true" if descending else "false")

    # timeline
    def timeline_mode(self) -> str | None:
        value = self.q.value("timeline/mode")
        return str(value) if value else None

    def save_timeline_mode(self, mode: str) -> None:
        self.q.setValue("timeline/mode", mode)

    def timeline_measures(self) -> tuple[str, ...] | None:
        """The measures the user chose (None: each patient's key measures)."""
        value = self.q.value("timeline/measures")
        if value in (None, "", "default"):
            return None
        return tuple(v for v in str(value).split(",") if v)

    def save_timeline_measures(self, ids: tuple[str, ...] | None) -> None:
        self.q.setValue("timeline/measures", "default" if ids is None else ",".join(ids))

    # scale
    def scale(self) -> float:
        value = self.q.value("ui/scale", 1.0)
        if not isinstance(value, str | int | float):  # a value of another type is ignored
            return 1.0
        try:
            return clamp_scale(float(value))
        except ValueError:
            return 1.0

    def save_scale(self, scale: float) -> None:
        self.q.setValue("ui/scale", clamp_scale(scale))

    def sync(self) -> None:
        self.q.sync()
