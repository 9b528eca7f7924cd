"""Latency dashboard: rolling pyqtgraph plots of per-stage milliseconds, end-to-end latency,
fps, dropped frames and people, with the current values as numbers.

Samples arrive once per displayed frame (`add_sample`); the plots redraw on a timer at a
fixed rate, so a fast source never makes the GUI thread spend more time on plotting.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.theme import BORDER, MUTED, PANEL, STAGE_COLORS

STAGES = ("capture", "preprocess", "inference", "grouping", "tracking", "render", "write")  # write: a recording's
METRICS = (*STAGES, "end_to_end", "fps", "dropped", "people")
LABELS = {
    "capture": "capture",
    "preprocess": "pre-process",
    "inference": "inference",
    "grouping": "grouping",
    "tracking": "tracking",
    "render": "render",
    "write": "write",
    "end_to_end": "end-to-end",
    "fps": "fps",
    "dropped": "dropped",
    "people": "people",
}
HISTORY = 300  # samples kept per metric
WIDEST_VALUE = "9999.9 ms"
# Below these widths a plot is hidden rather than squeezed, so the numbers stay readable.
LATENCY_PLOT_MIN_WIDTH = 620
RATE_PLOT_MIN_WIDTH = 900
REFRESH_MS = 150


class Dashboard(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples = 0
        self._data = {key: np.full(HISTORY, np.nan, dtype=np.float32) for key in METRICS}
        self._dirty = False
        self._paused = False  # nothing plays: no frame rate shown
        self._stalled = False  # nothing comes while it plays: no end-to-end time shown either
        pg.setConfigOptions(antialias=True, background=PANEL, foreground=MUTED)

        self.latency_plot = self._plot("ms per stage", "Milliseconds per stage over time")
        self._curves = {}
        for key in (*STAGES, "end_to_end"):
            width = 2.4 if key == "end_to_end" else 1.5
            pen = pg.mkPen(STAGE_COLORS[key], width=width)
            self._curves[key] = self.latency_plot.plot(pen=pen, name=LABELS[key])
        self.rate_plot = self._plot("fps · people · dropped", "Frame rate, people and dropped frames over time")
        for key in ("fps", "people", "dropped"):
            self._curves[key] = self.rate_plot.plot(pen=pg.mkPen(STAGE_COLORS[key], width=1.5), name=LABELS[key])

        self.values: dict[str, QLabel] = {}
        numbers = QGridLayout()
        numbers.setHorizontalSpacing(14)
        numbers.setVerticalSpacing(2)
        for i, key in enumerate(METRICS):
            swatch = QLabel("■")
            swatch.setStyleSheet(f"color: {STAGE_COLORS[key]};")
            caption = QLabel(LABELS[key])
            caption.setObjectName("caption")
            value = QLabel("–")
            value.setObjectName("value")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.ensurePolished()  # the theme's font, so the widest value fits
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance(WIDEST_VALUE))
            row, col = divmod(i, 2)
            cell = QHBoxLayout()
            cell.setSpacing(4)
            cell.addWidget(swatch)
            cell.addWidget(caption, 1)
            cell.addWidget(value)
            numbers.addLayout(cell, row, col)
            self.values[key] = value

        numbers_column = QVBoxLayout()
        numbers_column.addLayout(numbers)
        numbers_column.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(numbers_column)
        layout.addWidget(self.latency_plot, 3)
        layout.addWidget(self.rate_plot, 2)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)  # started by a sample, stopped once none came (refresh)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        width = event.size().width()
        self.latency_plot.setVisible(width >= LATENCY_PLOT_MIN_WIDTH)
        self.rate_plot.setVisible(width >= RATE_PLOT_MIN_WIDTH)

    def _plot(self, title: str, name: str) -> pg.PlotWidget:
        """A plot titled ``title``, which a screen reader calls ``name``."""
        plot = pg.PlotWidget()
        plot.setAccessibleName(name)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setTitle(title, color=MUTED, size="9pt")
        plot.showGrid(x=False, y=True, alpha=0.15)
        plot.getAxis("bottom").setStyle(showValues=False)
        plot.getAxis("left").setPen(BORDER)
        plot.setXRange(0, HISTORY - 1, padding=0)
        plot.enableAutoRange(axis="y")
        plot.setMinimumHeight(60)
        plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to do there with keys: no dead Tab stop
        plot.setMinimumWidth(1)  # the plots claim no width: below their widths they hide (resizeEvent)
        return plot

    def add_sample(self, values: dict[str, float]) -> None:
        """One displayed frame: milliseconds per stage and end-to-end, fps, dropped, people."""
        for key, series in self._data.items():
            series[:-1] = series[1:]
            series[-1] = values.get(key, np.nan)
        self.samples += 1
        self._dirty = True
        self._paused = self._stalled = False
        if not self._timer.isActive():
            self._timer.start()

    def clear(self) -> None:
        for series in self._data.values():
            series[:] = np.nan
        self.samples = 0
        self._dirty = True
        self.refresh()

    def paused(self, stalled: bool = False) -> None:
        """Nothing plays, or (``stalled``) nothing comes while it plays: no frame rate until the next frame (the
        last one's stayed on, stale, for as long), nor when stalled an end-to-end time (the frame on screen is
        older than it says)."""
        self._paused, self._stalled = True, stalled
        self.values["fps"].setText("–")
        if stalled:
            self.values["end_to_end"].setText("–")

    def current(self, key: str) -> float:
        """Mean of the last few samples: the number shown, steadier than the last sample."""
        recent = self._data[key][-8:]
        recent = recent[np.isfinite(recent)]
        return float(recent.mean()) if recent.size else float("nan")

    def refresh(self) -> None:
        if not self._dirty:  # no frame since the last redraw: the timer waits for the next one, the app at rest
            self._timer.stop()
            return
        self._dirty = False
        filled = min(self.samples, HISTORY)  # fill from the left, then scroll
        for key, curve in self._curves.items():
            curve.setData(self._data[key][HISTORY - filled :], connect="finite")
        for key, label in self.values.items():
            # the frame rate as the HUD shows it: the playback meter's, averaged over time already (a mean of its
            # last readings lagged seconds behind at 2 fps, the HUD saying 0.8 fps beside the dashboard's 2.1)
            value = self._data[key][-1] if key in ("dropped", "people", "fps") else self.current(key)
            if not np.isfinite(value) or (key == "fps" and self._paused) or (key == "end_to_end" and self._stalled):
                label.setText("–")
            elif key in ("dropped", "people"):
                label.setText(f"{int(value)}")
            elif key == "fps":
                label.setText(f"{value:.1f}")
            else:
                label.setText(f"{value:.1f} ms")
