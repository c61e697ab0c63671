"""PySide6 6.12.0 on Python 3.11 loses a reference to None on every Qt call that returns
None (or a bool), and aborts with "Fatal Python error: none_dealloc" after a few
thousand. The pin in pyproject.toml keeps us on 6.11.x; this test proves the installed
build survives a meeting's worth of calls."""

import subprocess
import sys
import textwrap

CALLS = 50_000

PROBE = textwrap.dedent(
    f"""
    import sys
    from PySide6.QtCore import QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    obj, widget, timer = QObject(), QWidget(), QTimer()
    start = sys.getrefcount(None)
    for i in range({CALLS} // 5):
        obj.setObjectName("x")          # returns None
        widget.setEnabled(bool(i & 1))  # returns None
        widget.setToolTip("t")          # returns None
        obj.blockSignals(False)         # returns bool
        timer.isActive()                # returns bool
    print(sys.getrefcount(None) - start)
    """
)


def test_fifty_thousand_qt_calls_keep_none_alive():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, f"the Qt process died: {done.stderr[-500:]}"
    drift = int(done.stdout.strip().splitlines()[-1])
    # A broken build drifts by about one per call (tens of thousands).
    assert abs(drift) < 50, f"sys.getrefcount(None) drifted by {drift} over {CALLS} calls"


def test_installed_pyside_is_below_the_broken_release():
    import PySide6

    major, minor = (int(p) for p in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__} is the release that aborts on Python 3.11"
