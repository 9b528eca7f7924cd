"""The source bar: detected webcams, open a video file or image folder, one opened lately, or connect to a stream
URL.

It only asks for a source (`source_requested(spec)`); the worker opens it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QWidget

from app.labels import NameLabel
from app.recent import is_gone
from app.shortcuts import choose_in_list

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
RECENT_PART_PX = 320  # a remembered file's name, and its folder, in the Recent menu: shortened beyond it


class SourceBar(QWidget):
    source_requested = Signal(str)
    refresh_cameras_requested = Signal()
    recent_gone = Signal(str)  # a remembered file or folder chosen that is no longer there
    clear_recent_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_dir = ""
        self.camera_box = QComboBox()
        self.camera_box.setMinimumWidth(130)
        self.camera_box.setToolTip("Webcams found on this machine")
        self.camera_box.setAccessibleName("Webcam")
        choose_in_list(self.camera_box)  # each choice costs: not one per arrow key
        self.camera_box.activated.connect(self._camera_chosen)
        refresh = QPushButton("⟳")
        refresh.setToolTip("Look for webcams again")
        refresh.setAccessibleName("Look for webcams again")
        refresh.setFixedWidth(32)
        refresh.clicked.connect(self.refresh_cameras_requested)
        self.open_file_button = QPushButton("Open video…")
        self.open_file_button.setToolTip("Open a video file (Ctrl+O)")
        self.open_file_button.clicked.connect(self.choose_file)
        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.setToolTip("Open a folder of images, played in name order")
        self.open_folder_button.clicked.connect(self.choose_folder)
        self.recent_button = QPushButton("Recent")
        self.recent_button.setToolTip("Open a source opened lately (Ctrl+Shift+R)")
        self.recent_button.setAccessibleName("Recent sources")
        self.recent_button.setMenu(QMenu(self.recent_button))
        self.recent_button.menu().setToolTipsVisible(True)  # each entry's whole path
        self.recent_button.menu().triggered.connect(self._recent_chosen)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("rtsp://… or http://… stream URL, Enter to connect")
        self.url_edit.setAccessibleName("Stream URL")
        self.url_edit.returnPressed.connect(self._url_entered)
        self.current = NameLabel("no source")  # the source's name and what it is, shortened to the bar's room
        self.current.setObjectName("caption")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(QLabel("Source"))
        layout.addWidget(self.camera_box)
        layout.addWidget(refresh)
        layout.addWidget(self.open_file_button)
        layout.addWidget(self.open_folder_button)
        layout.addWidget(self.recent_button)
        layout.addWidget(self.url_edit, 1)
        layout.addWidget(self.current, 1)  # room to spare goes to both: a wide window shows a long name whole
        self.set_cameras([])
        self.set_recent([])

    def set_cameras(self, indices: list[int]) -> None:
        self.camera_box.clear()
        if not indices:
            self.camera_box.addItem("No webcam found", None)
            self.camera_box.setEnabled(False)
            return
        self.camera_box.setEnabled(True)
        self.camera_box.addItem("Webcam…", None)
        for index in indices:
            self.camera_box.addItem(f"Webcam {index}", str(index))

    def set_recent(self, entries: list[str]) -> None:
        """The Recent menu: ``entries`` newest first, then Clear list."""
        menu = self.recent_button.menu()
        menu.clear()
        for entry in entries:
            action = menu.addAction(self._recent_text(entry))
            action.setToolTip(entry)
            action.setData(entry)
        if not entries:
            menu.addAction("No source opened yet").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear list")
        clear.setEnabled(bool(entries))
        clear.triggered.connect(self.clear_recent_requested)

    def _recent_text(self, entry: str) -> str:
        """A file or folder by its name, then its folder, each shortened; a stream by its URL, shortened ("&" kept
        as it is, a tab as a space: in a menu it starts the shortcut's column)."""
        if "://" in entry:
            text = self._shortened(entry, 2 * RECENT_PART_PX)
        else:
            path = Path(entry)
            text = (
                f"{self._shortened(path.name, RECENT_PART_PX)}  —  {self._shortened(str(path.parent), RECENT_PART_PX)}"
            )
        return text.replace("&", "&&").replace("\t", " ")

    def _shortened(self, text: str, width: int) -> str:
        """``text`` shortened in the middle to ``width`` pixels: a menu as wide as a long name ran off the screen."""
        return self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, width)

    def _recent_chosen(self, action: QAction) -> None:
        entry = action.data()
        if not entry:  # Clear list
            return
        if is_gone(entry):
            self.recent_gone.emit(entry)
        else:
            self.source_requested.emit(entry)

    def set_current(self, name: str, details: str) -> None:
        self.current.show_name(name, details)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self.start_dir, VIDEO_FILTER)
        if path:
            self.source_requested.emit(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open image folder", self.start_dir)
        if path:
            self.source_requested.emit(path)

    def _camera_chosen(self, row: int) -> None:
        spec = self.camera_box.itemData(row)
        if spec is not None:
            self.source_requested.emit(spec)

    def _url_entered(self) -> None:
        url = self.url_edit.text().strip()
        if url:
            self.source_requested.emit(url)


def dropped_sources(mime: QMimeData) -> list[str]:
    """What was dragged onto the window, as sources to open: local files and folders by their paths, and web
    links (a stream's address dragged from a browser) as they are."""
    return [url.toLocalFile() if url.isLocalFile() else url.toString() for url in mime.urls() if url.isValid()]
