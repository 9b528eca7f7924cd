"""Model, thresholds, smoothing, tracking and overlay controls. Every change applies live.

The panel holds no logic: it reads and writes the matching fields of AppSettings and says
which group changed (`pipeline_changed`, `overlay_changed`, `model_requested`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.labels import breakable
from app.settings import INPUT_SIZES, AppSettings
from app.shortcuts import choose_in_list
from core.assets import DEFAULT_MODEL


class ValueSlider(QWidget):
    """A 0..1 slider in steps of 0.01 with its value printed beside it."""

    value_changed = Signal(float)

    def __init__(self, tooltip: str, name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName(name)
        self.slider.setRange(0, 100)
        self.slider.setToolTip(tooltip)
        self.label = QLabel()
        self.label.setObjectName("value")
        self.label.ensurePolished()  # the theme's font: "0.00" fits whatever its size
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("0.00") + 6)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._changed)

    def value(self) -> float:
        return self.slider.value() / 100.0

    def set_value(self, value: float) -> None:
        self.slider.setValue(round(value * 100))
        self.label.setText(f"{self.value():.2f}")

    def _changed(self, raw: int) -> None:
        self.label.setText(f"{raw / 100:.2f}")
        self.value_changed.emit(raw / 100.0)


class Controls(QWidget):
    pipeline_changed = Signal()
    overlay_changed = Signal()
    model_requested = Signal(str)  # "" = the bundled model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_dir = ""
        self.model_box = QComboBox()
        self.model_box.setToolTip("The bundled model, or any ONNX file exported by `wlitepose export`")
        self.model_box.setAccessibleName("Model")
        self.model_box.addItem(f"Bundled · {DEFAULT_MODEL.stem}", "")
        choose_in_list(self.model_box)  # each choice costs: not one per arrow key
        # as wide as the panel lets it, whatever a model file is named: sized to its items, a model file of 56
        # letters took the side panel wider than its scroll area, every control's right-hand side cut off
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(12)
        self.model_box.activated.connect(lambda row: self.model_requested.emit(self.model_box.itemData(row)))
        browse = QPushButton("…")
        browse.setFixedWidth(32)
        browse.setToolTip("Open an ONNX model file")
        browse.setAccessibleName("Open a model file")
        browse.clicked.connect(self.choose_model)
        self.model_info = QLabel("no model loaded")
        self.model_info.setTextFormat(Qt.TextFormat.PlainText)  # a model's metadata as written, never as HTML
        self.model_info.setObjectName("caption")
        self.model_info.setWordWrap(True)
        self.size_box = QComboBox()
        self.size_box.setToolTip("Network input size: the longest image side is scaled to this")
        for size in INPUT_SIZES:
            self.size_box.addItem(f"{size} px" if size else "as trained", size)
        self.detection = ValueSlider("Minimum person score to keep a pose", "Minimum person score")
        self.keypoint = ValueSlider("Minimum joint score to draw and export a joint", "Minimum joint score")
        self.smoothing = ValueSlider(
            "0 = raw keypoints, 1 = strongest smoothing (more lag on fast motion)", "Smoothing"
        )
        self.tracking = QCheckBox("Track people (stable IDs)")
        self.shot_changes = QCheckBox("New tracks at cuts")
        self.shot_changes.setToolTip(
            "A cut in an edited video starts new tracks; turn off for footage with flashes or strobes, which can "
            "pass for one. Webcams and streams look for none."
        )
        self.tracking_options = (self.shot_changes, self.smoothing)  # only tracking uses them: off without it
        self.boxes = QCheckBox("Boxes")
        self.scores = QCheckBox("Person scores")
        self.trails = QCheckBox("Motion trails")
        self.mirror = QCheckBox("Mirror view")
        self.mirror.setToolTip(
            "Show the picture flipped left-right, as a selfie camera does (recordings and exports are not mirrored)"
        )
        self.overlay_boxes = (self.boxes, self.scores, self.trails, self.mirror)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_box, 1)
        model_row.addWidget(browse)
        model_group = QGroupBox("Model")
        model_column = QVBoxLayout(model_group)  # a form's row across both columns was given the height of the
        model_column.addLayout(model_row)  # model's facts at another width: a long variant's lines cut off
        model_column.addWidget(self.model_info)
        size_form = QFormLayout()
        size_form.addRow("Input size", self.size_box)
        model_column.addLayout(size_form)

        detect_group = QGroupBox("Detection && tracking")
        detect_form = QFormLayout(detect_group)
        detect_form.addRow("Person ≥", self.detection)
        detect_form.addRow("Joint ≥", self.keypoint)
        detect_form.addRow(self.tracking)
        detect_form.addRow(self.shot_changes)
        detect_form.addRow("Smoothing", self.smoothing)

        overlay_group = QGroupBox("Overlay")
        overlay_layout = QVBoxLayout(overlay_group)
        for box in self.overlay_boxes:
            overlay_layout.addWidget(box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for group in (model_group, detect_group, overlay_group):
            layout.addWidget(group)
        layout.addStretch(1)

        self.size_box.currentIndexChanged.connect(self.pipeline_changed)
        for slider in (self.detection, self.keypoint, self.smoothing):
            slider.value_changed.connect(self.pipeline_changed)
        self.tracking.toggled.connect(self.pipeline_changed)
        self.tracking.toggled.connect(self._enable_tracking_options)
        self.shot_changes.toggled.connect(self.pipeline_changed)
        for box in self.overlay_boxes:
            box.toggled.connect(self.overlay_changed)

    def apply(self, settings: AppSettings) -> None:
        """Show `settings` without emitting change signals."""
        widgets = (self.size_box, self.detection, self.keypoint, self.smoothing, self.tracking, self.shot_changes)
        for widget in (*widgets, *self.overlay_boxes, self.model_box):
            widget.blockSignals(True)
        self.select_model(settings.model)
        self.size_box.setCurrentIndex(max(0, self.size_box.findData(settings.input_size)))
        self.detection.set_value(settings.detection_threshold)
        self.keypoint.set_value(settings.keypoint_threshold)
        self.smoothing.set_value(settings.smoothing)
        self.tracking.setChecked(settings.tracking)
        self.shot_changes.setChecked(settings.shot_changes)
        self._enable_tracking_options(settings.tracking)
        self.boxes.setChecked(settings.boxes)
        self.scores.setChecked(settings.scores)
        self.trails.setChecked(settings.trails)
        self.mirror.setChecked(settings.mirror)
        for widget in (*widgets, *self.overlay_boxes, self.model_box):
            widget.blockSignals(False)

    def read(self, base: AppSettings) -> AppSettings:
        return dataclasses.replace(
            base,
            model=self.model_box.currentData(),
            input_size=int(self.size_box.currentData()),
            detection_threshold=self.detection.value(),
            keypoint_threshold=self.keypoint.value(),
            smoothing=self.smoothing.value(),
            tracking=self.tracking.isChecked(),
            shot_changes=self.shot_changes.isChecked(),
            boxes=self.boxes.isChecked(),
            scores=self.scores.isChecked(),
            trails=self.trails.isChecked(),
            mirror=self.mirror.isChecked(),
        )

    def _enable_tracking_options(self, tracking: bool) -> None:
        for widget in self.tracking_options:
            widget.setEnabled(tracking)

    def select_model(self, path: str) -> None:
        row = self.model_box.findData(path)
        if row < 0:
            self.model_box.addItem(Path(path).name, path)
            self.model_box.setItemData(self.model_box.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
            row = self.model_box.count() - 1
        self.model_box.setCurrentIndex(row)

    def show_model_info(self, text: str) -> None:
        """The model's facts, wrapped in the panel: a variant or dataset may be 200 letters without a space, which
        took the panel wider than its scroll area (every control's right-hand side cut off), so such a word is
        broken where it must be."""
        self.model_info.ensurePolished()  # the theme's font
        metrics = self.model_info.fontMetrics()
        self.model_info.setText(breakable(text, metrics, metrics.horizontalAdvance("x" * 24)))

    def choose_model(self) -> None:
        current = self.model_box.currentData()  # the folder of the model in use, else the last source's
        start = str(Path(current).parent) if current else self.start_dir
        path, _ = QFileDialog.getOpenFileName(self, "Open model", start, "ONNX models (*.onnx);;All files (*)")
        if path:
            self.model_requested.emit(path)
