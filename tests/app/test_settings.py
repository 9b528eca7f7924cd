"""The app's remembered settings: what a user chose comes back, and a first start has the defaults users expect."""

from __future__ import annotations

import pytest
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


def test_new_tracks_at_cuts_unticked_reaches_the_pipeline_and_is_remembered(tmp_path):
    """Unticked, the live view and every export carry the tracks across what looks like a cut (track's
    --no-shot-changes)."""
    chosen = app_settings.AppSettings(shot_changes=False)
    assert app_settings.pipeline_config(chosen).tracker.shot_changes is False
    assert app_settings.pipeline_config(app_settings.AppSettings()).tracker.shot_changes is True
    store = QSettings(str(tmp_path / "wlitepose.ini"), QSettings.Format.IniFormat)
    app_settings.save_settings(store, chosen)
    assert app_settings.load_settings(QSettings(str(tmp_path / "wlitepose.ini"), QSettings.Format.IniFormat)) == chosen


@pytest.mark.parametrize("written", ["[General]\ntracking=false\n", "[settings2]\nversion=1\ntracking=false\n"])
def test_a_settings_file_from_before_new_tracks_at_cuts_reads_as_ticked(tmp_path, written):
    """An earlier release's file, and one of this version's from before the box, have no such key: on, as in
    `track`, beside the choices the file does hold."""
    ini = tmp_path / "wlitepose.ini"
    ini.write_text(written)
    loaded = app_settings.load_settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert loaded.tracking is False and loaded.shot_changes is True


def test_a_folder_rate_of_zero_in_the_file_gives_way_to_the_default(tmp_path):
    """A rate of 0 (a hand edit, another version) was clamped by the box to 0.01 fps: a folder showed an image every
    100 s."""
    store = QSettings(str(tmp_path / "wlitepose.ini"), QSettings.Format.IniFormat)
    store.setValue(app_settings.VERSION_KEY, 1)
    store.setValue(f"{app_settings.GROUP}/folder_fps", "0")
    assert app_settings.load_settings(store).folder_fps == app_settings.AppSettings().folder_fps


def test_each_threshold_reaches_the_pipeline_as_itself():
    """The detection slider set the keypoint threshold and the other way round."""
    chosen = app_settings.AppSettings(detection_threshold=0.3, keypoint_threshold=0.05, smoothing=0.7)
    config = app_settings.pipeline_config(chosen)
    assert (config.decode.detection_threshold, config.decode.keypoint_threshold) == (0.3, 0.05)
    assert config.tracker.smoothing == 0.7


def test_a_file_an_earlier_release_wrote_is_read_as_it_meant(tmp_path):
    """Its detection threshold of 0.2 was that release's default (README: reset on upgrade); a file read at a start
    holds its ticks as words and a list typed by hand without quotes."""
    ini = tmp_path / "wlitepose.ini"
    ini.write_text("[General]\ndetection_threshold=0.2\ntracking=false\nmirror=True\nexport_formats=coco_json,video\n")
    loaded = app_settings.load_settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert loaded.detection_threshold == app_settings.AppSettings().detection_threshold
    assert (loaded.tracking, loaded.mirror, loaded.export_formats) == (False, True, ("coco_json", "video"))


def test_a_list_where_the_file_should_hold_a_path_is_dropped(tmp_path):
    """``export_dir=out, 2`` by hand is a list to QSettings: it became the folder "['out', '2']" in the working
    folder, where every export then went."""
    ini = tmp_path / "wlitepose.ini"
    ini.write_text(f"[{app_settings.GROUP}]\nversion=1\nexport_dir=out, 2\nlast_dir=a, b\nmodel=m.onnx\n")
    loaded = app_settings.load_settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert (loaded.export_dir, loaded.last_dir, loaded.model) == ("", "", "m.onnx")
