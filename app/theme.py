"""Dark theme: a Fusion palette plus a short stylesheet, and the colours the plots share."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#17191d"
PANEL = "#1f2227"
RAISED = "#2a2e35"
BORDER = "#343942"
FIELD_BORDER = "#727884"  # a field's or list's edge, a slider's track: 3:1 on its fill and around it (BORDER: 1.4:1)
TEXT = "#d7dae0"
MUTED = "#939aa6"  # 4.8:1 on RAISED (a field's hint text), above the 4.5:1 text needs
DISABLED = "#5b616b"  # text of a control that does nothing now (a live source's speed, nothing open)
ACCENT = "#3ea6ff"
ACCENT_FILL = "#1d4f7a"  # what is on or done, edged in ACCENT: TEXT on it 6.1:1 (on ACCENT 1.9:1)
DANGER = "#ff5c5c"
CHECK_OUTLINE_BASE = "#c8ccd4"  # Fusion draws a check box's outline in this darkened (see apply_theme)

# one colour per latency stage, shared by the plot legend and the numbers beside it
STAGE_COLORS = {
    "capture": "#8b929e",
    "preprocess": "#c792ea",
    "inference": "#3ea6ff",
    "grouping": "#ffcb6b",
    "tracking": "#89ddff",
    "render": "#c3e88d",
    "write": "#f07178",
    "end_to_end": "#f78c6c",
    "fps": "#c3e88d",
    "people": "#ffcb6b",
    "dropped": "#ff5c5c",
}


def stylesheet(text: float) -> str:
    """The stylesheet with text of ``text`` points, values a tenth larger and captions a tenth smaller."""
    value, caption = f"{text * 1.1:.3g}", f"{text * 0.9:.3g}"
    return f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; font-size: {text:g}pt; }}
QWidget:disabled {{ color: {DISABLED}; }}
QGroupBox {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 6px;
    margin-top: 14px; padding: 10px 8px 8px 8px; font-weight: 600;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED}; }}
QPushButton, QToolButton, QComboBox, QLineEdit {{
    background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 8px;
}}
QComboBox, QLineEdit {{ border-color: {FIELD_BORDER}; }}
QComboBox:disabled, QLineEdit:disabled {{ border-color: {BORDER}; }}
QPushButton:hover, QToolButton:hover, QComboBox:hover {{ border-color: {ACCENT}; }}
QPushButton:checked, QToolButton:checked {{ background: {ACCENT_FILL}; border-color: {ACCENT}; }}
QPushButton#record:checked {{ background: #7a1d1d; border-color: {DANGER}; }}
QSlider::groove:horizontal {{ height: 4px; background: {FIELD_BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{
    background: {TEXT}; width: 12px; height: 12px; margin: -5px 0; border-radius: 6px;
}}
QSlider::groove:horizontal:disabled, QSlider::sub-page:horizontal:disabled {{ background: {BORDER}; }}
QSlider::handle:horizontal:disabled {{ background: {DISABLED}; }}
QProgressBar {{
    background: {RAISED}; border: 1px solid {BORDER}; border-radius: 4px; text-align: center; height: 16px;
}}
QProgressBar::chunk {{ background: {ACCENT_FILL}; border: 1px solid {ACCENT}; border-radius: 3px; }}
QStatusBar {{ background: {PANEL}; color: {MUTED}; }}
QLabel#value {{ font-family: monospace; font-size: {value}pt; font-weight: 600; }}
QLabel#caption {{ color: {MUTED}; font-size: {caption}pt; }}
QScrollArea, QScrollArea > QWidget > QWidget {{ background: transparent; border: none; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
QPushButton:focus, QToolButton:focus, QComboBox:focus, QLineEdit:focus {{
    border: 2px solid {ACCENT}; padding: 3px 7px; }}
QCheckBox:focus {{ border: 1px solid {ACCENT}; border-radius: 3px; }}
QSlider:focus {{ border: 1px solid {ACCENT}; border-radius: 3px; }}
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, PANEL),
        (QPalette.ColorRole.AlternateBase, RAISED),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, RAISED),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, BACKGROUND),
        (QPalette.ColorRole.ToolTipBase, RAISED),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED))  # what the stylesheet leaves
    app.setPalette(palette)
    # Fusion outlines a check box in the window colour darkened, on the panel's colour: unticked, it all but
    # vanished (1.2:1); a light "window" for check boxes gives their outline 5:1, a raised fill sets them apart
    boxes = QPalette(palette)
    boxes.setColor(QPalette.ColorRole.Window, QColor(CHECK_OUTLINE_BASE))
    boxes.setColor(QPalette.ColorRole.Base, QColor(RAISED))
    app.setPalette(boxes, "QCheckBox")
    # the desktop's font size where it is larger (a user's choice for reading), never smaller than designed
    text = max(app.font().pointSizeF(), 10.0)
    app.setStyleSheet(stylesheet(text))
