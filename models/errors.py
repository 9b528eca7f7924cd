"""User-facing errors of the model tools (kept apart from core/, which models/ never imports)."""


class ModelError(ValueError):
    """Bad variant name, unreadable checkpoint, failed export: one sentence for the user."""
