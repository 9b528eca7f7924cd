"""Transport for file sources: play/pause, step, seek slider, speed, keep pace, the frame counter, and an
image folder's frame rate."""

from __future__ import annotations

from PySide6.QtCore import QLocale, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.theme import TEXT
from core.sources import IMAGE_FOLDER_FPS, MAX_FPS

POSITION_MIN_WIDTH = 150  # px: the frame counter of a short file; longer ones get what their digits need
QT_INT_MAX = 2**31 - 1  # a slider's or progress bar's range is a C int: a damaged AVI's header counts 4294967280 frames
SPEEDS = (("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0), ("4×", 4.0), ("Max", 0.0))  # 0 = no pacing


class Transport(QWidget):
    play_toggled = Signal(bool)
    step_requested = Signal(int)
    seek_requested = Signal(int)
    speed_changed = Signal(float)
    keep_pace_changed = Signal(bool)
    image_fps_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._play_icon = _icon([[(5, 3), (5, 15), (15, 9)]])
        self._pause_icon = _icon([[(5, 3), (8, 3), (8, 15), (5, 15)], [(11, 3), (14, 3), (14, 15), (11, 15)]])
        self.play_button = QPushButton(self._play_icon, "")
        self.play_button.setCheckable(True)
        self.play_button.setFixedWidth(40)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setAccessibleName("Play")
        self.play_button.toggled.connect(self._on_play)
        self.back_button = QPushButton(_icon([[(3, 3), (5, 3), (5, 15), (3, 15)], [(15, 3), (15, 15), (6, 9)]]), "")
        self.back_button.setToolTip("One frame back (←)")
        self.back_button.setAccessibleName("One frame back")
        self.back_button.setFixedWidth(36)
        self.back_button.clicked.connect(lambda: self.step_requested.emit(-1))
        forward = _icon([[(3, 3), (3, 15), (12, 9)], [(13, 3), (15, 3), (15, 15), (13, 15)]])
        self.forward_button = QPushButton(forward, "")
        self.forward_button.setToolTip("One frame forward (→)")
        self.forward_button.setAccessibleName("One frame forward")
        self.forward_button.setFixedWidth(36)
        self.forward_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Seek (Home / End, Page Up / Page Down)")
        self.slider.setAccessibleName("Position")
        self.slider.setMinimumWidth(80)  # a narrow window squeezes the labels, not the slider away
        self.slider.sliderMoved.connect(self.seek_requested)
        self.slider.actionTriggered.connect(self._on_slider_action)
        self.position = QLabel("—")
        self.position.setObjectName("value")
        self.position.setMinimumWidth(POSITION_MIN_WIDTH)
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.speed_box = QComboBox()
        self.speed_box.setToolTip("Playback speed; Max processes as fast as the machine allows")
        self.speed_box.setAccessibleName("Playback speed")
        for label, value in SPEEDS:
            self.speed_box.addItem(label, value)
        self.speed_box.currentIndexChanged.connect(lambda row: self.speed_changed.emit(self.speed_box.itemData(row)))
        self.keep_pace = QCheckBox("Keep pace")
        self.keep_pace.setChecked(True)
        self.keep_pace.setToolTip(
            "Skip the frames this machine cannot process in time, so a file plays at the chosen speed;\n"
            "off, every frame is shown, however slowly. Recording always keeps every frame."
        )
        self.keep_pace.toggled.connect(self.keep_pace_changed)
        self.fps_box = RateBox()
        self.fps_box.setRange(0.01, MAX_FPS)
        self.fps_box.setDecimals(2)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setAccessibleName("Image folder frame rate")
        self.fps_box.setMaximumWidth(self.fps_box.fontMetrics().horizontalAdvance("1000.00 fps") + 36)
        self.fps_box.setValue(IMAGE_FOLDER_FPS)
        self.fps_box.setKeyboardTracking(False)  # typed digits apply on Enter; a step (Up, Down, wheel) at once
        self.fps_box.setToolTip(
            "The frame rate an image folder plays at: it sets the frames' timestamps and how long\n"
            "the tracker waits for a person it lost (frames extracted at 10 fps: 10; track's --fps)"
        )
        self.fps_box.setMinimumHeight(self.speed_box.sizeHint().height())  # level with its neighbours
        self.fps_box.valueChanged.connect(self.image_fps_changed)  # Qt emits it for real changes only
        self.fps_box.editingFinished.connect(self._leave_fps)

        # Two rows: the seek bar with the buttons, then how it plays. In one row, with an image folder's rate
        # box, the window could not shrink to 960 px (a 1920x1080 screen at 200 %).
        seek_row = QHBoxLayout()
        seek_row.setSpacing(6)
        for widget in (self.back_button, self.play_button, self.forward_button):
            seek_row.addWidget(widget)
        seek_row.addWidget(self.slider, 1)
        seek_row.addWidget(self.position)
        pace_row = QHBoxLayout()
        pace_row.setSpacing(6)
        pace_row.addStretch(1)
        for widget in (self.fps_box, self.speed_box, self.keep_pace):
            pace_row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(seek_row)
        layout.addLayout(pace_row)
        self._live = False
        self.set_source(frame_count=None, fps=0.0, live=False)  # nothing open: no seeking, no position

    @property
    def speed(self) -> float:
        return float(self.speed_box.currentData())

    def set_speed(self, speed: float) -> None:
        row = self.speed_box.findData(speed)
        self.speed_box.setCurrentIndex(row if row >= 0 else self.speed_box.findData(1.0))

    def set_source(self, frame_count: int | None, fps: float, live: bool, images: bool = False) -> None:
        """Files get the whole transport; live sources only play/pause; image folders their frame rate too."""
        self._live = live
        self.fps_box.setVisible(images)
        seekable = not live and bool(frame_count)
        for widget in (self.back_button, self.forward_button, self.slider, self.speed_box, self.keep_pace):
            widget.setEnabled(seekable)
        self.slider.setRange(0, min(max(0, (frame_count or 1) - 1), QT_INT_MAX))
        digits, clock = len(str(frame_count or 0)), _clock((frame_count or 0) / fps if fps else 0.0)
        widest = self.position.fontMetrics().horizontalAdvance(f"{'0' * max(5, digits)} / {'0' * digits}  {clock}")
        self.position.setMinimumWidth(max(POSITION_MIN_WIDTH, widest + 12))
        self.slider.setValue(0)
        self.position.setText("live" if live else "—")

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_button.blockSignals(False)

    def set_image_fps(self, fps: float) -> None:
        """The rate folders play at, as remembered (the box clamps it to its range)."""
        self.fps_box.setValue(fps)

    def image_fps(self) -> float:
        """The rate in the box, also when typed and not yet applied (an export started with Ctrl+E):
        interpreting the typed text applies it first."""
        self.fps_box.interpretText()
        return self.fps_box.value()

    def _leave_fps(self) -> None:
        if self.fps_box.hasFocus():  # after Enter the player's keys (Space, arrows) work again
            self.play_button.setFocus()

    def set_length(self, frame_count: int) -> None:
        """The seek bar's range once a file's real frame count is known (it was a guess), where it stands kept."""
        self.slider.setRange(0, min(max(0, frame_count - 1), QT_INT_MAX))

    def show_position(self, index: int, count: int | None, seconds: float) -> None:
        """Frame ``index`` of ``count`` on screen, and its own time (not index / the rate: a variable-rate file's
        frames after one held 2 s are 2 s later)."""
        if count:
            if not self.slider.isSliderDown():
                self.slider.setValue(index)
            self.position.setText(f"{index + 1:>5} / {count}  {_clock(seconds)}")
        elif self._live:
            self.position.setText(f"live  #{index}")
        else:  # a file whose length is unknown: its frame and time, never "live"
            self.position.setText(f"{index + 1:>5}  {_clock(seconds)}")

    def _on_play(self, playing: bool) -> None:
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_toggled.emit(playing)

    def _on_slider_action(self, action: int) -> None:
        if action != QSlider.SliderAction.SliderMove.value:  # page/step/Home/End: seek to where it lands
            self.seek_requested.emit(self.slider.sliderPosition())


class RateBox(QDoubleSpinBox):
    """A spin box the mouse wheel turns only once it has been clicked into: scrolling past it changes nothing.

    It writes a decimal point, as the rest of the window does, and reads a comma typed as one too: in a German
    or French locale Qt's own box took "12.5" for 125 (the point a thousands separator) without a word."""

    def __init__(self) -> None:
        super().__init__()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a spin box's default, WheelFocus, takes focus on a wheel
        locale = QLocale.c()  # Latin digits and a point, in every locale
        locale.setNumberOptions(QLocale.NumberOption.RejectGroupSeparator)
        self.setLocale(locale)

    def validate(self, text: str, position: int):
        return super().validate(text.replace(",", "."), position)

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        return super().valueFromText(text.replace(",", "."))

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds, 1), 60.0)  # rounded first: 59.96 s is 01:00.0, not 00:60.0
    return f"{int(minutes):02d}:{seconds:04.1f}"


def _icon(polygons: list[list[tuple[float, float]]]) -> QIcon:
    """A flat 18x18 icon from polygons (the platform's media icons are unreadable on dark)."""
    pixmap = QPixmap(36, 36)  # drawn at 2x for high-dpi screens
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(TEXT))
    for points in polygons:
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
    painter.end()
    return QIcon(pixmap)
