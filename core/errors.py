"""The one exception type for problems a user can cause and fix."""


class WLitePoseError(Exception):
    """A user-facing error: its message is one sentence that names the problem.

    The CLI prints it without a traceback and exits with status 2; the GUI shows it in a
    dialog or the status bar.
    """


class SourceFailed(WLitePoseError):
    """A source of a run that failed after ``frames`` frames had been written to its outputs."""

    def __init__(self, message: str, frames: int) -> None:
        super().__init__(message)
        self.frames = frames

    def left_behind(self) -> str:
        """What the failed source leaves in its output files, to follow its error."""
        if self.frames:
            from core.progress import frames_text

            return f"its outputs hold the {frames_text(self.frames)} before the error"
        return "no frame was written for it"
