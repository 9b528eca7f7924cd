"""WLitePose desktop application (PySide6 + pyqtgraph). Imports core, never torch."""
