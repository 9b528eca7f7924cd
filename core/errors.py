"""The one exception type for problems a user can cause and fix."""


class WLitePoseError(Exception):
    """A user-facing error: its message is one sentence that names the problem.

    The CLI prints it without a traceback and exits with status 2; the GUI shows it in a
    dialog or the status bar.
    """
