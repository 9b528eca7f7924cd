"""The video view: paints the newest annotated frame, letterboxed, with a small heads-up line.

Skeletons are already drawn into the image by core.draw in the worker; this widget only
scales and paints it, so a paint costs a few milliseconds whatever the model does.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.theme import MUTED


class VideoView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(480, 320)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._hud = ""
        self._placeholder = "Open a webcam, video, image folder or stream"
        self.frames_painted = 0

    def image(self) -> QImage | None:
        return self._image

    def show_image(self, image: QImage, hud: str = "") -> None:
        self._image = image
        self._hud = hud
        self.update()

    def set_hud(self, hud: str) -> None:
        self._hud = hud
        self.update()

    def clear(self, placeholder: str) -> None:
        self._image = None
        self._hud = ""
        self._placeholder = placeholder
        self.update()

    def image_rect(self) -> QRect:
        """Where the image lands in the widget (aspect kept, centred)."""
        if self._image is None or self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        left, top = (self.width() - size.width()) // 2, (self.height() - size.height()) // 2
        return QRect(left, top, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#0d0e10"))
        if self._image is None:
            painter.setPen(QColor(MUTED))
            painter.setFont(QFont(self.font().family(), 13))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.image_rect()
        painter.drawImage(QRectF(target), self._image)
        if self._hud:
            self._paint_hud(painter, target)
        self.frames_painted += 1

    def _paint_hud(self, painter: QPainter, target: QRect) -> None:
        font = QFont("monospace", 9)
        font.setStyleHint(QFont.StyleHint.Monospace)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = metrics.boundingRect(self._hud).adjusted(-8, -4, 8, 4)
        box.moveTopLeft(target.topLeft() + QPoint(10, 10))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("#e6e6e6"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._hud)
