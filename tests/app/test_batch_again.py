"""Process files… started again over a batch that was cut off: the files exported to their end before, with the
same model and settings, are passed over when the user says so."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox


@pytest.fixture
def clips(write_clip, tmp_path):
    return [str(write_clip(tmp_path / f"{name}.avi", 3)) for name in ("first", "second", "third")]


def answering(monkeypatch, button_text: str | None, asked: list, meanwhile=lambda: None) -> None:
    """The batch's question answered by the button of ``button_text`` (None: Cancel), ``meanwhile`` run while it is
    open."""

    def click(box: QMessageBox) -> None:
        asked.append(box.text())
        meanwhile()
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


def other_runs_export(qtbot, window, clip, tmp_path) -> tuple[Path, Path]:
    """What another run will have written for ``clip`` (its CSV, in ``done``), the window then set to export into
    ``out``: (out, done)."""
    out, done = tmp_path / "out", tmp_path / "done"
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(done))
    export(qtbot, window, [clip])
    window.export_panel.folder.setText(str(out))
    return out, done


def finished_by_another_run(out, done, name: str, extra: bytes = b"") -> None:
    """``name``'s CSV (``extra`` added) and sidecar in ``out``, as another run leaves them once finished."""
    (out / f"{name}.csv").write_bytes((done / f"{name}.csv").read_bytes() + extra)
    sidecar = json.loads((done / f"{name}.csv.json").read_text())
    outputs = [str(out / f"{name}.csv"), str(out / f"{name}.csv.json")]
    (out / f"{name}.csv.json").write_text(json.dumps({**sidecar, "outputs": outputs}))


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


def _another_model(model_path: Path, path: Path) -> Path:
    """``model_path``'s network with other metadata: another model file (another sha256)."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(model_path))
    for prop in proto.metadata_props:
        if prop.key == "dataset":
            prop.value = "another"
    onnx.save(proto, str(path))
    return path


def _models(out) -> set[str]:
    return {json.loads(path.read_text())["model_sha256"] for path in out.glob("*.csv.json")}


def test_a_model_loaded_while_the_batch_asks_is_not_the_one_skipped_files_are_judged_by(
    qtbot, window, clips, tmp_path, monkeypatch, model_path
):
    """Another model picked, Process files… at once, its load ending while the question is open: "Skip them"
    passed over the files finished with the first model and ran the rest with the second, one batch of two models."""
    out = tmp_path / "out"
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(out))
    export(qtbot, window, clips[:1])
    other = str(_another_model(model_path, tmp_path / "another.onnx"))
    window.load_model(other)

    def skip_once_loaded(box: QMessageBox) -> None:
        qtbot.waitUntil(lambda: window.model_path == other, timeout=30000)
        next(button for button in box.buttons() if button.text() == "Skip them").click()

    monkeypatch.setattr(QMessageBox, "exec", skip_once_loaded)
    export(qtbot, window, clips)
    assert len(_models(out)) == 1


def _exported_with_a_model_copy(qtbot, window, clips, tmp_path, model_path) -> tuple[Path, Path]:
    """``clips`` exported as CSV into tmp_path/out with mine.onnx, a copy of the model, loaded: (out, mine)."""
    out, mine = tmp_path / "out", tmp_path / "mine.onnx"
    mine.write_bytes(model_path.read_bytes())
    window.load_model(str(mine))
    qtbot.waitUntil(lambda: window.model_path == str(mine), timeout=30000)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(out))
    export(qtbot, window, clips)
    return out, mine


def test_a_model_file_written_over_since_it_was_loaded_is_another_model(
    qtbot, window, clips, tmp_path, monkeypatch, model_path
):
    """`wlitepose export --out model.onnx` again while the app has model.onnx loaded: the batch loads the new file,
    so the files exported with the old one are not finished with it (nothing asked, replace confirmed)."""
    out, mine = _exported_with_a_model_copy(qtbot, window, clips[:1], tmp_path, model_path)
    mine.write_bytes(_another_model(model_path, tmp_path / "another.onnx").read_bytes())
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    export(qtbot, window, clips)
    assert len(_models(out)) == 1


def test_a_batch_without_a_csv_started_again_asks_only_whether_to_replace(qtbot, window, clips, tmp_path,
                                                                          monkeypatch):  # fmt: skip
    """Outputs without a CSV keep no record of a finished run: nothing is passed over, and the batch asks to replace
    the earlier exports as before (looking for their CSV's record was a TypeError)."""
    out = tmp_path / "out"
    window.export_panel.set_formats(("coco_json",))
    window.export_panel.folder.setText(str(out))
    export(qtbot, window, clips[:2])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    export(qtbot, window, clips[:2])
    assert len(asked) == 1 and asked[0].startswith("first_coco.json, second_coco.json already exist")


def test_image_folders_are_passed_over_at_the_rate_they_were_exported_at(qtbot, window, tmp_path, monkeypatch):
    """A folder's CSV is timed at the window's folder rate: a batch of folders exported at 10 fps is finished at
    10 fps, and at 12 fps its times are other times (the question is then whether to replace)."""
    folders = []
    for name in ("day1", "day2"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "1.png"), np.full((48, 64, 3), 90, np.uint8))
        folders.append(str(tmp_path / name))
    window.transport.set_image_fps(10)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path / "out"))
    export(qtbot, window, folders)
    asked = []
    answering(monkeypatch, "Skip them", asked)
    export(qtbot, window, folders)
    assert asked[0].startswith("2 of these 2 files were exported to their end before")
    assert window.statusBar().currentMessage() == "All 2 files were exported to their end before: nothing to do."
    window.transport.set_image_fps(12)
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    export(qtbot, window, folders)
    assert len(asked) == 2 and asked[1].startswith("day1.csv, day1.csv.json, day2.csv")


def test_one_file_exported_again_is_asked_about_as_before(qtbot, window, clips, tmp_path, monkeypatch):
    """A single file exported to its end before: replacing its exports is the question (skipping it would leave
    nothing to do), not which files of a batch to pass over."""
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path / "out"))
    export(qtbot, window, clips[:1])
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    export(qtbot, window, clips[:1])
    assert len(asked) == 1 and asked[0].startswith("first.csv, first.csv.json already exist")


def test_a_batch_started_again_after_its_model_file_was_deleted_says_so(qtbot, window, clips, tmp_path, monkeypatch,
                                                                       model_path):  # fmt: skip
    """Nothing is finished with a model file that is gone: the replace question, then the export's own sentence."""
    _, mine = _exported_with_a_model_copy(qtbot, window, clips[:2], tmp_path, model_path)
    mine.unlink()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.Yes)
    export(qtbot, window, clips[:2])
    assert len(asked) == 1 and asked[0].startswith("first.csv, first.csv.json, second.csv")
    assert window.export_panel.eta.text() == "0 of 2 files exported, 0 frames"
    assert window.last_error.endswith(f"not started: first.avi, second.avi; failed: model file {mine} does not exist")


def test_a_file_another_run_is_writing_is_taken_up_once_it_lets_go(qtbot, window, clips, tmp_path, held_elsewhere):
    """A batch beside `track --skip-done` or another window: a file whose outputs another run holds is passed over
    for now, then counted as that run's if it finished it, or exported here if it left it unfinished (killed)."""
    out, done = other_runs_export(qtbot, window, clips[1], tmp_path)
    out.mkdir()

    def finished(name: str) -> bool:
        sidecar = out / f"{name}.csv.json"
        return sidecar.is_file() and json.loads(sidecar.read_text()).get("finished") is True

    with held_elsewhere(out / "second.csv"), held_elsewhere(out / "third.csv"):
        (out / "second.csv").write_text("frame\n")  # begun: not an earlier export to ask about replacing
        window.export_files(clips)
        assert window.last_error == ""  # once refused whole: "another run ... is writing .../second.csv right now"
        started = []
        window.export_panel.job.file_started.connect(lambda number, count, spec: started.append(number))
        qtbot.waitUntil(lambda: finished("first"), timeout=60000)
        waiting = "waiting for another run to finish second.avi"
        qtbot.waitUntil(lambda: window.export_panel.eta.text() == waiting, timeout=60000)  # not first's figures
        assert window.export_panel.progress.maximum() == 0  # busy: not first's full bar
        qtbot.wait(1500)  # the other run goes on a while: waited for, not tried again and again
        finished_by_another_run(out, done, "second")
        assert window.export_panel.job is not None  # waiting for the other run
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert finished("third")  # the other run's killed before its end: exported here
    assert window.export_panel.eta.text() == "Exported 2 files, 6 frames"  # second.avi was no shortfall
    assert "exported by another run: second.avi" in window.export_panel.eta.toolTip()
    assert "failed" not in window.export_panel.eta.toolTip()
    assert started.count(2) == 1  # second.avi taken up once, when its run let go


def test_a_file_another_run_finishes_while_the_user_reads_the_question_is_not_exported_again(
    qtbot, window, clips, tmp_path, monkeypatch, held_elsewhere
):
    """Started again beside `track --skip-done`: the other run finished second.avi while "Skip them?" was open, and
    the batch, taking only the files finished at its own start for those the user chose, exported it again."""
    out, done = other_runs_export(qtbot, window, clips[1], tmp_path)
    export(qtbot, window, clips[:1])  # first.avi finished before: the question is asked
    with held_elsewhere(out / "second.csv"):
        (out / "second.csv").write_text("frame\n")  # being written by the other run
        answering(
            monkeypatch, "Skip them", [], meanwhile=lambda: finished_by_another_run(out, done, "second", b"mark\n")
        )
        window.export_files(clips)
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert kept(out, clips[1])  # the other run's file left as it wrote it
    assert window.export_panel.eta.text() == "Exported 1 file, 3 frames"
    story = window.export_panel.eta.toolTip()
    assert "passed over, exported before: first.avi" in story and "exported by another run: second.avi" in story
