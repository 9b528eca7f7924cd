"""The app's remembered settings: what a user chose comes back, and a first start has the defaults users expect."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app import settings as app_settings


def test_the_ends_of_each_range_a_user_can_choose_are_remembered(tmp_path):
    """A threshold or smoothing of 0 (the sliders' left end) and a folder rate under 1 fps are choices, not damage."""
    store = QSettings(str(tmp_path / "wlitepose.ini"), QSettings.Format.IniFormat)
    chosen = app_settings.AppSettings(
        detection_threshold=0.0, keypoint_threshold=1.0, smoothing=0.0, folder_fps=0.5, tracking=False
    )
    app_settings.save_settings(store, chosen)
    assert app_settings.load_settings(QSettings(str(tmp_path / "wlitepose.ini"), QSettings.Format.IniFormat)) == chosen


def test_a_first_start_tracks_people_and_keeps_pace():
    config = app_settings.pipeline_config(app_settings.AppSettings())
    assert config.tracker is not None and app_settings.AppSettings().keep_pace


def test_tracking_switched_off_reaches_the_pipeline():
    """Unticked, the live view and every export run untracked (the sidecar's tracker is null)."""
    assert app_settings.pipeline_config(app_settings.AppSettings(tracking=False)).tracker is None
