"""What a user would see as broken on a small screen or a projector: buttons cut off,
hints and labels truncated, a table column showing half its title, a panel that needs a
sideways scroll bar; and interactive widgets without an accessible name. Shared by the
fit and accessibility tests."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)

# Widgets a person operates (keyboard, mouse or screen reader): each needs a name.
INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QTextEdit,
    QPlainTextEdit,
    QTabBar,
    QGraphicsView,
    QAbstractSlider,
)


def shown(widget: QWidget) -> bool:
    """Visible and at least partly on screen (not scrolled out of view)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def _part_of_another(widget: QWidget) -> bool:
    """Qt's own inner parts (a spin box's line edit, a tab bar's scroll arrows, a
    scroll area's scroll bars) are named through their owner."""
    parent = widget.parentWidget()
    inner = widget.objectName().startswith("qt_") and widget.objectName() != "qt_tabwidget_tabbar"
    if inner or isinstance(widget, (QScrollBar, QHeaderView)):
        return True
    while parent is not None:
        if isinstance(parent, (QComboBox, QAbstractSpinBox, QTabBar, QLineEdit)):
            return True
        parent = parent.parentWidget()
    return False


def unnamed(root: QWidget) -> list[str]:
    """Interactive widgets under ``root`` without an accessible name."""
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, INTERACTIVE) or _part_of_another(widget):
            continue
        if not widget.accessibleName().strip():
            text = getattr(widget, "text", lambda: "")()
            found.append(f"{type(widget).__name__} {widget.objectName()!r} {str(text)[:30]!r} in {_path(widget)}")
    return found


def _path(widget: QWidget) -> str:
    names = []
    parent = widget.parentWidget()
    while parent is not None and len(names) < 4:
        names.append(parent.objectName() or type(parent).__name__)
        parent = parent.parentWidget()
    return "/".join(reversed(names))


def cut_buttons(root: QWidget) -> list[str]:
    """Buttons on screen that are narrower than their text or cut by an edge."""
    found = []
    for button in root.findChildren(QAbstractButton):
        if not shown(button) or _part_of_another(button) or not button.text():
            continue
        seen = button.visibleRegion().boundingRect()
        if seen.width() < button.width() or button.width() < button.sizeHint().width() - 1:
            found.append(
                f"{button.text()!r} ({button.width()} of {button.sizeHint().width()} px, {seen.width()} seen) in {_path(button)}"
            )
    return found


def cut_labels(root: QWidget) -> list[str]:
    """One-line labels on screen narrower than their text (hints, titles, values).
    Labels that elide on purpose and show their full text as a tooltip are left out."""
    found = []
    for label in root.findChildren(QLabel):
        if label.isVisible() and label.text().strip() and label.width() < 2:
            found.append(f"{label.text()[:40]!r} squeezed to nothing in {_path(label)}")
            continue
        if not shown(label) or label.wordWrap() or not label.text().strip() or hasattr(label, "full_text"):
            continue
        seen = label.visibleRegion().boundingRect()
        if (
            label.width() < label.sizeHint().width() - 1
            or seen.width() < min(label.width(), label.sizeHint().width()) - 1
        ):
            found.append(f"{label.text()[:40]!r} ({label.width()} of {label.sizeHint().width()} px) in {_path(label)}")
    return found


def sideways_scrolling(root: QWidget) -> list[str]:
    """Panels whose content is wider than their view (a sideways scroll bar). Tables
    may scroll sideways to further columns: that is how a narrow list works."""
    found = []
    for area in root.findChildren(QAbstractScrollArea):
        if isinstance(area, QAbstractItemView) or not shown(area):
            continue
        bar = area.horizontalScrollBar()
        if bar.isVisible() and bar.maximum() > 0:
            found.append(
                f"{area.objectName() or type(area).__name__} in {_path(area)} scrolls {bar.maximum()} px sideways"
            )
    return found


def half_shown_columns(table: QAbstractItemView) -> list[str]:
    """Header sections cut by the right edge of the table's view."""
    header = table.horizontalHeader()
    width = table.viewport().width()
    found = []
    for visual in range(header.count()):
        logical = header.logicalIndex(visual)
        if header.isSectionHidden(logical):
            continue
        left = header.sectionViewportPosition(logical)
        right = left + header.sectionSize(logical)
        if left < width < right:
            title = table.model().headerData(logical, header.orientation())
            found.append(f"{title!r} shows {width - left} of {header.sectionSize(logical)} px")
    return found
