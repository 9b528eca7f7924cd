"""The video view: paints the newest annotated frame, letterboxed, with a small heads-up line.

Skeletons are already drawn into the image by core.draw in the worker, at the size the picture has here (the
view says its size as it changes); this widget only paints it, so a paint costs a few milliseconds whatever the
model does.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.theme import MUTED

HUD_GAP = 10  # px between the heads-up line and the edges it sits by
HUD_TEXT = "#e6e6e6"
HUD_SHADE = 160  # the opacity of the line's dark box: over a white wall its text has 5.1:1 (at 150, 4.4:1)


class VideoView(QWidget):
    resized = Signal(object)  # (w, h) in device pixels: the worker draws the picture at the size it has here

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 160)  # small: the window must fit a 1920x1080 screen at 200 % (960x540)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAccessibleName("Video")  # a screen reader's name for what is painted here
        self._image: QImage | None = None
        self._hud = ""
        self._hud_font = QFont("monospace", 9)  # made once: the line is painted with every frame
        self._hud_font.setStyleHint(QFont.StyleHint.Monospace)
        self._hud_metrics = QFontMetrics(self._hud_font)
        self._placeholder = "Open a webcam, video, image folder or stream"
        self.frames_painted = 0

    def image(self) -> QImage | None:
        return self._image

    def show_image(self, image: QImage, hud: str = "") -> None:
        """Painted at once, not when the GUI thread is next idle: a frame that came before then (the thread busy
        plotting) replaced this one unpainted, which the frame rate counted as shown and nothing as dropped."""
        self._image = image
        self._hud = hud
        self.repaint()

    def set_hud(self, hud: str) -> None:
        self._hud = hud
        self.update()

    def clear(self, placeholder: str) -> None:
        self._image = None
        self._hud = ""
        self._placeholder = placeholder
        self.update()

    def image_rect(self) -> QRect:
        """Where the image lands in the widget (aspect kept, centred), to the whole pixel."""
        return self._picture_rect().toAlignedRect()

    def _device_size(self) -> QSize:
        ratio = self.devicePixelRatioF()
        return QSize(round(self.width() * ratio), round(self.height() * ratio))

    def _picture_rect(self) -> QRectF:
        """Where the image lands, placed on whole device pixels: a picture the worker drew at its size here is
        painted pixel for pixel (fitted to whole logical pixels, at 150 % it was resampled by half a pixel)."""
        if self._image is None or self._image.isNull():
            return QRectF()
        room, ratio = self._device_size(), self.devicePixelRatioF()
        size = self._image.size().scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        left, top = (room.width() - size.width()) // 2, (room.height() - size.height()) // 2
        return QRectF(left / ratio, top / ratio, size.width() / ratio, size.height() / ratio)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._say_size()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DevicePixelRatioChange:  # moved to a screen of another scale
            self._say_size()
        return super().event(event)

    def _say_size(self) -> None:
        room = self._device_size()
        self.resized.emit((room.width(), room.height()))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0d0e10"))
        if self._image is None:
            painter.setPen(QColor(MUTED))
            painter.setFont(QFont(self.font().family(), 13))
            # wrapped: at the window's smallest the line is wider than the view, and was cut at both ends
            flags = Qt.AlignmentFlag.AlignCenter.value | Qt.TextFlag.TextWordWrap.value
            painter.drawText(self.rect().adjusted(8, 0, -8, 0), flags, self._placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self._picture_rect()
        painter.drawImage(target, self._image)
        if self._hud:
            self._paint_hud(painter, target.toAlignedRect())
        self.frames_painted += 1

    def hud_rect(self) -> QRect:
        """Where the heads-up line goes."""
        return self._hud_layout(self.image_rect())[0]

    def _hud_layout(self, target: QRect) -> tuple[QRect, str]:
        """The heads-up line's box and text: in the dark margin beside or above the picture when it fits there,
        so it covers nobody, over the picture's top-left corner when it does not; always inside the view, the
        text cut short with an ellipsis where the view is narrower than it (the window at its smallest)."""
        if not self._hud or target.isNull():
            return QRect(), ""
        room = max(0, self.width() - 2 * HUD_GAP - 16)  # the text's width inside the box's padding
        text = self._hud_metrics.elidedText(self._hud, Qt.TextElideMode.ElideRight, room)
        box = self._hud_metrics.boundingRect(text).adjusted(-8, -4, 8, 4)
        if target.left() >= box.width() + 2 * HUD_GAP:
            box.moveTopLeft(QPoint(HUD_GAP, target.top() + HUD_GAP))
        elif target.top() >= box.height() + 2 * HUD_GAP:
            box.moveTopLeft(QPoint(target.left() + HUD_GAP, HUD_GAP))
        else:
            box.moveTopLeft(target.topLeft() + QPoint(HUD_GAP, HUD_GAP))
        if box.right() > self.width() - HUD_GAP:  # a narrow view: the box moves left, into the view
            box.moveLeft(max(HUD_GAP, self.width() - HUD_GAP - box.width()))
        return box, text

    def _paint_hud(self, painter: QPainter, target: QRect) -> None:
        box, text = self._hud_layout(target)
        painter.setFont(self._hud_font)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, HUD_SHADE))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(HUD_TEXT))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
