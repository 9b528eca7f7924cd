"""Fixtures every test folder uses."""

import contextlib
import functools
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from core.oks import COCO_KEYPOINTS, CROWDPOSE_KEYPOINTS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VTEST = DATA / "videos" / "vtest.avi"
# a Python in which some top-level modules cannot be imported, as in an install without them, then `wlitepose`
WITHOUT = """import sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in {modules!r}:
            raise ModuleNotFoundError(f'No module named {{name!r}}', name=name)
sys.meta_path.insert(0, Absent())
import main
sys.exit(main.main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def redrawing_terminal(monkeypatch):
    """Tests run as at a terminal that redraws a line (TERM=xterm), even from Emacs' shell (TERM=dumb), where a
    progress line is plain lines instead: a test of that sets TERM itself."""
    monkeypatch.setenv("TERM", "xterm")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (its README.md says what is there); the test is skipped where it is absent."""
    if not DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return DATA


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A complete, untrained WLitePose-XS model file (real export, ~2 s; random weights: few or no real poses),
    exported once for the app's and core's tests."""
    torch = pytest.importorskip("torch")
    from models.export import build_metadata, export_onnx
    from models.schemas import COCO17
    from models.wlitepose import build_model

    torch.manual_seed(0)  # the same untrained weights, so the same (random) people, in every run
    path = tmp_path_factory.mktemp("model") / "wlitepose_xs_256.onnx"
    export_onnx(build_model("wlitepose_xs"), path, build_metadata(COCO17, "wlitepose_xs", 256, "coco", False))
    return path


@pytest.fixture(scope="session")
def truth_as_results():
    """truth_as_results(path) -> the labelled people of the COCO-format file ``path`` as results, each with score 1:
    what a model that finds everyone exactly would give."""

    def results(path: Path) -> list[dict]:
        return [
            {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
            for a in json.loads(path.read_text())["annotations"]
            if not a.get("iscrowd") and a.get("num_keypoints", 1) > 0
        ]

    return results


@pytest.fixture
def write_clip():
    """write_clip(path, frames): the first frames of vtest.avi as a short MJPG clip at 10 fps."""
    if not VTEST.is_file():
        pytest.skip("../shared/data is absent")

    def write(path: Path, frames: int) -> Path:
        source = cv2.VideoCapture(str(VTEST))
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
        for _ in range(frames):
            writer.write(source.read()[1])
        writer.release()
        source.release()
        return path

    return write


@pytest.fixture
def main_without(tmp_path):
    """main_without(modules, *argv) -> CompletedProcess: `wlitepose ARGV` run in a fresh Python (in tmp_path)
    where the top-level ``modules`` (cv2, torch, ...) cannot be imported."""

    def run(modules: tuple[str, ...], *argv) -> subprocess.CompletedProcess:
        code = WITHOUT.format(modules=tuple(modules))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [sys.executable, "-c", code, *map(str, argv)], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    return run


@pytest.fixture
def cuts_at(monkeypatch):
    """cuts_at(*calls): the shot-change check says a new shot starts at those of its calls (0 the first), or at
    every call where none is given, as an edited video's cuts would."""
    from core.shot_changes import ShotChanges

    def arm(*calls: int) -> None:
        count = itertools.count()
        monkeypatch.setattr(
            ShotChanges, "is_new_shot", lambda self, image, timestamp_s: next(count) in calls or not calls
        )

    return arm


@pytest.fixture
def csv_disk_full_at(monkeypatch):
    """csv_disk_full_at(frame_index): the CSV's rows of that frame meet a full disk (ENOSPC), the others are
    written."""
    import errno

    from core.sinks.csv_sink import CsvSink

    def arm(full_frame: int) -> None:
        write = CsvSink.write

        def full_at(self, frame_index, *args, **kwargs):
            if frame_index == full_frame:
                raise OSError(errno.ENOSPC, "No space left on device")
            return write(self, frame_index, *args, **kwargs)

        monkeypatch.setattr(CsvSink, "write", full_at)

    return arm


@pytest.fixture
def signal_on_call(monkeypatch):
    """signal_on_call(module, name, sig, call=1, times=1): the ``call``-th call of ``module.name`` first sends the
    process ``sig``, ``times`` over (a second is the user's "stop now"). Meanwhile a ``sig`` left to its default
    action raises AssertionError instead: a command that does not handle it fails the test rather than ending
    pytest. A signal ignored (SIG_IGN) stays ignored."""
    previous = {}

    def unhandled(signum, frame):
        raise AssertionError(f"signal {signum} was not handled")

    def arm(module, name: str, sig: int, call: int = 1, times: int = 1) -> None:
        if signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, unhandled)
        original, calls = getattr(module, name), []

        def signalling(*args, **kwargs):
            calls.append(name)
            for _ in range(times if len(calls) == call else 0):
                signal.raise_signal(sig)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, signalling)

    yield arm
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.fixture
def images_lost_once_opened(monkeypatch):
    """images_lost_once_opened(module, image): ``module``'s open_source opens a source, then ``image`` is deleted
    (a drive pulled once the folder had opened)."""

    def lose(module, image: Path) -> None:
        opened = module.open_source

        def open_then_lose(spec, fps):
            source = opened(spec, fps)
            image.unlink()
            return source

        monkeypatch.setattr(module, "open_source", open_then_lose)

    return lose


@pytest.fixture
def played_live(monkeypatch):
    """played_live(module, video): ``module``'s open_source opens ``video`` whatever it is asked for, as a live
    source that keeps up (a camera, a stream): none of its frames skipped, the next one always ready."""

    def play(module, video) -> None:
        opened = module.open_source

        def as_live(spec, fps):
            source = opened(str(video), fps)
            source.is_live, source.skipped, source.ready = True, 0, lambda timeout_s: True
            return source

        monkeypatch.setattr(module, "open_source", as_live)

    return play


@pytest.fixture
def held_elsewhere():
    """held_elsewhere(output): a context in which another process holds ``output``'s lock (core.output_lock), as
    a run writing it does; that process then ends without letting go, as a killed run would."""

    @contextlib.contextmanager
    def hold(output: Path):
        code = (
            "import sys, pathlib, core.output_lock as l; h = l.take(pathlib.Path(sys.argv[1])); print('held'); input()"
        )
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE}
        with subprocess.Popen([sys.executable, "-c", code, str(output)], cwd=ROOT, **pipes) as other:
            try:
                assert other.stdout.readline().strip() == b"held"
                yield
            finally:
                other.communicate(b"\n", timeout=60)

    return hold


@pytest.fixture(scope="session")
def read_screen():
    """read_screen(master) -> str: all the pseudo-terminal whose master end is ``master`` showed."""
    return _screen


def _screen(master: int) -> str:
    """All a pseudo-terminal showed once every writer closed it (one read can return before the last redraw has
    crossed the terminal)."""
    shown = b""
    with open(master, "rb", buffering=0) as screen:
        try:
            while chunk := screen.read(4096):
                shown += chunk
        except OSError:  # Linux: the terminal closed and everything it wrote was read
            pass
    return shown.decode()


@pytest.fixture(scope="session")
def on_terminal():
    """on_terminal(columns, draw) -> str: all ``draw(stream)`` wrote to a pseudo-terminal ``columns`` wide, as the
    terminal passed it on (its line ends as "\\r\\n")."""
    import fcntl
    import pty
    import struct
    import termios

    def shown(columns: int, draw) -> str:
        master, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        with open(child, "w") as terminal:
            draw(terminal)
        return _screen(master)

    return shown


@pytest.fixture(scope="session")
def redraws():
    """redraws(shown) -> [(line drawn, row seen)]: each line drawn from a carriage return in ``shown`` (a
    terminal's output), and the row the terminal shows then (a line drawn over a longer one keeps its tail)."""

    def seen(shown: str) -> list[tuple[str, str]]:
        pairs, row = [], ""
        for drawn in shown.replace("\r\n", "\n").rstrip("\n").split("\r")[1:]:
            row = drawn + row[len(drawn) :]
            pairs.append((drawn, row))
        return pairs

    return seen


def _roboflow(data: dict, images: Path, out: Path) -> dict:
    """Roboflow's COCO export: a placeholder category of id 0 beside the real one, ids from 0, each image renamed
    ``<name>_jpg.rf.<hash>.jpg`` (copied so) with its first name under ``extra``."""
    renamed = {i["id"]: i["file_name"].replace(".jpg", f"_jpg.rf.{i['id']:032x}.jpg") for i in data["images"]}
    for image in data["images"]:
        (out / renamed[image["id"]]).write_bytes((images / image["file_name"]).read_bytes())
    number = {old: new for new, old in enumerate(renamed)}
    person = {**data["categories"][0], "supercategory": "people-Qg7R"}
    return {
        "info": {"description": "Exported from roboflow.com"},
        "categories": [{"id": 0, "name": "people-Qg7R", "supercategory": "none"}, person],
        "images": [
            {**i, "id": number[i["id"]], "file_name": renamed[i["id"]], "extra": {"name": i["file_name"]}}
            for i in data["images"]
        ],
        "annotations": [{**a, "image_id": number[a["image_id"]], "segmentation": []} for a in data["annotations"]],
    }


def _coco_annotator(data: dict, images: Path, out: Path, alphabetical: bool = False) -> dict:
    """COCO Annotator's export of a dataset with a hand category (21 keypoints) listed before the person one, a
    hand at each person's left wrist, and its own fields (isbbox, color, metadata, iscrowd as false); the person
    category's keypoints listed ``alphabetical``ly (its people's values as they were) where asked."""
    hand = {"id": 8, "name": "hand", "color": "#a00", "metadata": {}, "keypoints": [f"joint_{n}" for n in range(21)]}
    if alphabetical:
        data["categories"][0]["keypoints"] = sorted(data["categories"][0]["keypoints"])
    hands = [
        {**a, "id": 10**6 + a["id"], "category_id": 8, "bbox": [*a["keypoints"][27:29], 20, 20], "area": 400}
        | {"keypoints": [*a["keypoints"][27:29], 2] * 21, "num_keypoints": 21}
        for a in data["annotations"]
        if not a["iscrowd"] and a["keypoints"][29] > 0
    ]
    people = [
        {**a, "iscrowd": bool(a["iscrowd"]), "isbbox": False, "color": "#0a0", "metadata": {}}
        for a in data["annotations"]
    ]
    return {**data, "categories": [hand, data["categories"][0]], "annotations": people + hands}


def _merged(data: dict, images: Path, out: Path, keypoints: list[str]) -> dict:
    """COCO Annotator's export (see there) merged with a file whose person category (id 9, "other people") lists
    ``keypoints`` (CrowdPose's, or COCO's in another order): its first person labelled as one of them."""
    merged = _coco_annotator(data, images, out)
    other = {"id": 9, "name": "other people", "keypoints": keypoints}
    first = merged["annotations"][0]
    first.update(category_id=9, keypoints=first["keypoints"][: 3 * len(keypoints)])
    return {**merged, "categories": [*merged["categories"], other]}


def _label_studio(data: dict, images: Path, out: Path, alphabetical: bool = False) -> dict:
    """Label Studio's COCO export of a project labelling boxes ("person", id 0) and keypoints: its keypoint
    category "default" names them as the project's labels do ("Left Eye"), in the order of their model_index (here
    COCO's, or ``alphabetical``)."""
    names = data["categories"][0]["keypoints"]
    order = sorted(range(len(names)), key=lambda j: names[j] if alphabetical else j)
    joints = {"id": 1, "name": "default", "supercategory": "default", "skeleton": []}
    joints["keypoints"] = [names[j].replace("_", " ").title() for j in order]
    boxes = [
        {"id": 10**6 + a["id"], "image_id": a["image_id"], "category_id": 0, "segmentation": [], "bbox": a["bbox"]}
        | {"ignore": 0, "iscrowd": 0, "area": a["bbox"][2] * a["bbox"][3]}
        for a in data["annotations"]
    ]
    people = [  # without an area, as exported
        {k: a[k] for k in ("id", "image_id", "num_keypoints", "bbox", "iscrowd")}
        | {"category_id": 1, "keypoints": [v for j in order for v in a["keypoints"][3 * j : 3 * j + 3]]}
        for a in data["annotations"]
    ]
    return {**data, "categories": [{"id": 0, "name": "person"}, joints], "annotations": boxes + people}


def _makesense(data: dict, images: Path, out: Path) -> dict:
    """makesense.ai's COCO export: polygons only (points it exports as CSV, not COCO)."""
    shapes = [
        {k: a[k] for k in ("id", "image_id", "category_id", "bbox", "area", "iscrowd")} for a in data["annotations"]
    ]
    for shape in shapes:
        x, y, w, h = shape["bbox"]
        shape["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return {**data, "categories": [{"id": 1, "name": "person"}], "annotations": shapes}


TOOL_EXPORTS = {
    "roboflow": _roboflow,
    "coco-annotator": _coco_annotator,
    "coco-annotator-alphabetical": functools.partial(_coco_annotator, alphabetical=True),
    "merged-crowdpose": functools.partial(_merged, keypoints=[*CROWDPOSE_KEYPOINTS[:-2], "head", "neck"]),
    "merged-reordered": functools.partial(_merged, keypoints=sorted(COCO_KEYPOINTS)),
    "label-studio": _label_studio,
    "label-studio-alphabetical": functools.partial(_label_studio, alphabetical=True),
    "makesense": _makesense,
}


@pytest.fixture
def tool_export(shared_data, tmp_path):
    """tool_export(tool) -> (annotation file, images folder, people): the dev set's first two images and their
    people as ``tool`` (a key of TOOL_EXPORTS) exports them; ``people`` counts those with labelled joints."""

    def export(tool: str) -> tuple[Path, Path, int]:
        data = json.loads((shared_data / "val" / "annotations.json").read_text())
        data["images"] = data["images"][:2]
        kept = {image["id"] for image in data["images"]}
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] in kept]
        people = sum(1 for a in data["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0)
        path = tmp_path / f"{tool}.json"
        path.write_text(json.dumps(TOOL_EXPORTS[tool](data, shared_data / "val" / "images", tmp_path)))
        images = tmp_path if tool == "roboflow" else shared_data / "val" / "images"
        return path, images, people

    return export
