"""The installed tool's version, as its package metadata gives it (`wlitepose --version`, the CSV sidecar)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def tool_version() -> str:
    try:
        return version("wlitepose")
    except PackageNotFoundError:  # the sources run without being installed
        return "unknown (not installed)"
