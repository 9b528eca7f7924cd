"""Process files… started again over a batch that was cut off: the files exported to their end before, with the
same model and settings, are passed over when the user says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def clips(write_clip, tmp_path):
    return [str(write_clip(tmp_path / f"{name}.avi", 3)) for name in ("first", "second", "third")]


def answering(monkeypatch, button_text: str | None, asked: list) -> None:
    """The batch's question answered by the button of ``button_text`` (None: Cancel)."""

    def click(box: QMessageBox) -> None:
        asked.append(box.text())
        wanted = box.button(QMessageBox.StandardButton.Cancel)
        for button in box.buttons():
            if button_text is not None and button.text() == button_text:
                wanted = button
        wanted.click()

    monkeypatch.setattr(QMessageBox, "exec", click)


def export(qtbot, window, paths) -> None:
    window.export_files(paths)
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)


def mark(out, clips) -> None:
    """A line added to the CSVs of ``clips``: one written again loses it."""
    for clip in clips:
        with (out / f"{Path(clip).stem}.csv").open("a") as file:
            file.write("mark\n")


def kept(out, clip) -> bool:
    return (out / f"{Path(clip).stem}.csv").read_text().endswith("mark\n")


def test_a_batch_started_again_passes_over_the_files_finished_before(qtbot, window, clips, tmp_path, monkeypatch):
    out = tmp_path / "out"
    window.export_panel.set_formats(("csv", "coco_json"))
    window.export_panel.folder.setText(str(out))
    export(qtbot, window, clips[:2])  # the batch cut off after its second file
    (out / "second.csv.json").write_text(
        json.dumps({**json.loads((out / "second.csv.json").read_text()), "finished": False})
    )
    mark(out, clips[:2])

    asked = []
    answering(monkeypatch, None, asked)
    export(qtbot, window, clips)  # Cancel: nothing runs
    assert asked == [
        "1 of these 3 files was exported to their end before, with this model and these settings. Skip them? "
        "The other files' earlier exports are replaced either way."
    ]
    assert not (out / "third.csv").exists() and kept(out, clips[1])

    answering(monkeypatch, "Skip them", asked)
    export(qtbot, window, clips)
    assert kept(out, clips[0])  # finished: passed over
    assert not kept(out, clips[1]) and (out / "third.csv").is_file()
    assert window.export_panel.eta.text() == "Exported 2 files, 6 frames"
    assert "passed over, exported before: first.avi" in window.export_panel.eta.toolTip()

    export(qtbot, window, clips)  # all three finished now
    assert window.statusBar().currentMessage() == "All 3 files were exported to their end before: nothing to do."
    assert kept(out, clips[0])

    window.controls.smoothing.set_value(0.9)  # other settings: nothing is finished with them, plain replace asked
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    export(qtbot, window, clips)
    assert asked[-1].startswith("first.csv, first.csv.json, first_coco.json, second.csv and 5 more already exist")
    window.controls.smoothing.set_value(0.5)

    answering(monkeypatch, "Process all again", asked)
    export(qtbot, window, clips)
    assert not kept(out, clips[0])
    assert window.export_panel.eta.text() == "Exported 3 files, 9 frames"
