"""PosePipeline on a model with known outputs: the people and stage timings it gives, joints kept inside the
image, its live configuration, and the video a run writes."""

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np
import pytest

from core.decode import DecodeConfig
from core.draw import draw_poses
from core.pipeline import STAGES, PipelineConfig, PosePipeline
from core.preprocess import letterbox_geometry
from core.session import PoseModel
from core.shot_changes import ShotChanges
from core.synthetic import STANDING, paint, random_people


def test_process_returns_image_pixels_and_stage_timings(tmp_path, coco_metadata, painted_model, painted_pipeline):
    pipeline, expected = painted_pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    result = pipeline.process(image, 0.0)
    assert set(result.timings_ms) == set(STAGES) and all(v >= 0 for v in result.timings_ms.values())
    err = np.linalg.norm(result.poses.xy[:, None] - expected[None], axis=3).max(axis=2).min(axis=1)
    assert len(result.poses) == 3 and err.max() <= 2.5 + 1e-6  # 1 network px at scale 0.4


def test_the_pipeline_cuts_a_person_grouped_from_two(tmp_path, coco_metadata, painted_model):
    """The head, shoulders and arms of one person with the hips and legs of another 70 px below, grouped as one
    (all one tag): the pipeline gives decoding the model's skeleton, so the person is cut at the long links."""
    box = letterbox_geometry((640, 480), 256)
    merged = (STANDING * 80 + [100, 20])[None].copy()
    merged[0, 11:] += [0, 70]
    heatmaps, tags = paint(merged, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    poses = PosePipeline(model, PipelineConfig(tracker=None)).process(np.zeros((480, 640, 3), np.uint8), 0.0).poses
    assert poses.visible.tolist() == [[True] * 11 + [False] * 6]


@pytest.mark.parametrize("across", [1, 0])  # the bottom edge of a landscape frame, the right edge of a portrait one
def test_joints_at_the_frame_edge_stay_inside_the_image(tmp_path, coco_metadata, painted_model, across):
    size = (640, 427) if across == 1 else (427, 640)
    box = letterbox_geometry(size, 256)  # 171 rows (or columns) of picture, padded to 192
    truth = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    truth[0, :, across] = 180.0  # along the padding: where a network's peak can fall for a person at the edge
    heatmaps, tags = paint(truth, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    pipeline = PosePipeline(model, PipelineConfig())
    assert box.to_image(truth)[0, :, across].min() > 426
    xy = pipeline.process(np.zeros((size[1], size[0], 3), np.uint8), 0.0).poses.xy
    assert len(xy) == 1 and (xy[0, :, across] == 426).all() and (xy[0, :, 1 - across] <= 639).all()


def test_a_smoothed_person_running_off_the_frame_stays_inside_it(tmp_path, coco_metadata, painted_model):
    box = letterbox_geometry((640, 427), 256)
    base = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    base[0, :, 1] -= base[0, :, 1].min()  # the person's top at row 0, moving down 20 input rows a frame
    frames = [paint(base + [0.0, 20.0 * i], np.zeros(1, np.float32), box.input_size) for i in range(6)]
    model = PoseModel(painted_model(tmp_path / "m.onnx", *frames[0], coco_metadata))
    calls = iter(frames)
    model.run = lambda blob: next(calls)
    pipeline = PosePipeline(model, PipelineConfig())
    for i in range(6):  # the filter's velocity carries its joints past the last row, where the peaks stop
        xy = pipeline.process(np.zeros((427, 640, 3), np.uint8), i / 25).poses.xy
        assert np.nanmax(xy[..., 1]) <= 426 and np.nanmin(xy) >= 0


def test_joints_in_the_padding_stay_inside_the_image_without_tracking(tmp_path, coco_metadata, painted_model):
    """With tracking off (--no-track) the decoded people are clipped to the picture too, not only the tracked."""
    box = letterbox_geometry((640, 427), 256)
    truth = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    truth[0, :, 1] = 180.0  # in the padding below the picture
    heatmaps, tags = paint(truth, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    xy = PosePipeline(model, PipelineConfig(tracker=None)).process(np.zeros((427, 640, 3), np.uint8), 0.0).poses.xy
    assert len(xy) == 1 and (xy[0, :, 1] == 426).all()


def test_the_settings_a_sidecar_records_name_the_input_size_a_run_used():
    """Without --input-size a run feeds the model's own size: the sidecar says 256, not null (track --skip-done and
    the app's batch compare these settings, and a reader of the sidecar would not know the size)."""
    from core.pipeline import run_settings, tuned_config

    assert run_settings(tuned_config(), 256)["input_size"] == 256
    assert run_settings(tuned_config(input_size=320), 256)["input_size"] == 320
    assert run_settings(tuned_config(tracking=False), 256)["tracker"] is None


def test_configure_keeps_tracks_on_threshold_change_and_reset_forgets(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(3):
        ids = pipeline.process(image, i / 25).poses.track_ids
    assert sorted(ids) == [1, 2, 3]
    config = pipeline.config
    pipeline.configure(dataclasses.replace(config, decode=DecodeConfig(keypoint_threshold=0.2)))
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=dataclasses.replace(config.tracker, smoothing=0.9)))
    assert sorted(pipeline.process(image, 3 / 25).poses.track_ids) == [1, 2, 3]  # same IDs
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=None))
    assert (pipeline.process(image, 4 / 25).poses.track_ids == -1).all()
    pipeline.configure(config)
    pipeline.reset()
    pipeline.process(image, 0.0)
    assert sorted(pipeline.process(image, 0.04).poses.track_ids) == [1, 2, 3]


def test_tracking_off_and_on_again_gives_no_id_twice(tmp_path, coco_metadata, painted_model, painted_pipeline):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    tracking = pipeline.config
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(2):
        first = pipeline.process(image, i / 25).poses.track_ids
    pipeline.configure(dataclasses.replace(tracking, tracker=None))
    pipeline.process(image, 2 / 25)
    pipeline.configure(tracking)
    for i in range(3, 5):
        later = pipeline.process(image, i / 25).poses.track_ids
    assert min(later) > max(first) == 3


def test_a_smoothing_changed_live_is_the_one_the_tracker_smooths_with(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    """The app's smoothing slider moved while a video plays: the tracker kept smoothing at 0.5 while the sidecar
    said 0 (keypoints up to 16 px from the unsmoothed ones on vtest_clip.mp4)."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0)
    smoother = dataclasses.replace(pipeline.config.tracker, smoothing=0.0)
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=smoother))
    assert pipeline.tracker.config == smoother and pipeline.settings()["tracker"]["smoothing"] == 0.0


def test_a_seek_while_tracking_is_off_gives_no_id_twice_when_it_comes_back_on(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    """A recording seeked with tracking off, then tracked again: vtest_clip.mp4's IDs 1-4 were given again to
    other people, where a seek's new tracks take new numbers."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    config = pipeline.config
    for i in range(2):
        pipeline.process(image, i / 25)
    pipeline.configure(dataclasses.replace(config, tracker=None))
    pipeline.process(image, 2 / 25)
    pipeline.reset(restart_ids=False)
    pipeline.configure(config)
    for i in range(3, 5):
        ids = pipeline.process(image, i / 25).poses.track_ids
    assert sorted(ids) == [4, 5, 6]


def _vtest_frames(video_path, first: int, count: int) -> list[np.ndarray]:
    """``count`` frames of vtest.avi from frame ``first``, at the painted pipeline's 640x480."""
    import cv2

    capture = cv2.VideoCapture(str(video_path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, first)
    frames = [cv2.resize(capture.read()[1], (640, 480), interpolation=cv2.INTER_AREA) for _ in range(count)]
    capture.release()
    return frames


@pytest.mark.parametrize("shot_changes", [True, False])
def test_a_cut_starts_new_tracks_with_ids_never_given(
    tmp_path, coco_metadata, painted_model, painted_pipeline, video_path, shot_changes
):
    """An edited clip cut from vtest.avi's frame 99 to its frame 500 (the same street, other people; the painted
    people stand where the last shot's stood): the tracks carried on across the cut, the new shot's people under
    the old shot's IDs. Off (footage with flashes), they still do."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    tracker = dataclasses.replace(pipeline.config.tracker, shot_changes=shot_changes)
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=tracker))
    frames = _vtest_frames(video_path, 95, 5) + _vtest_frames(video_path, 500, 5)
    results = [pipeline.process(image, i / 10) for i, image in enumerate(frames)]
    assert [result.new_shot for result in results] == [False] * 5 + [shot_changes] + [False] * 4
    before, after = ({int(i) for r in shot for i in r.poses.track_ids} - {-1} for shot in (results[:5], results[5:]))
    assert before == {1, 2, 3} and after == ({4, 5, 6} if shot_changes else before)


def test_a_cut_frame_grouped_again_keeps_the_new_shots_ids(
    tmp_path, coco_metadata, painted_model, painted_pipeline, video_path
):
    """A slider moved on the cut frame (the app groups it again): the tracker goes back to where it stood before
    the frame, which must be after the cut's reset; the old shot's tracks came back, and the next frames' people
    took IDs 1-3 again."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    frames = _vtest_frames(video_path, 95, 5) + _vtest_frames(video_path, 500, 5)
    for i, image in enumerate(frames[:6]):
        pipeline.process(image, i / 10)
    pipeline.redecode()
    after = {int(t) for i, image in enumerate(frames[6:], 6) for t in pipeline.process(image, i / 10).poses.track_ids}
    assert after - {-1} == {4, 5, 6}


def test_a_new_sources_first_frame_starts_no_shot(tmp_path, coco_metadata, painted_model, painted_pipeline, video_path):
    """A second source's first frame was compared with the last source's last frame, and listed as a cut."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    for i, image in enumerate(_vtest_frames(video_path, 95, 3)):
        pipeline.process(image, i / 10)
    pipeline.new_source(live=False)
    assert not pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0).new_shot


def test_tracking_switched_back_on_compares_with_no_frame_from_before(
    tmp_path, coco_metadata, painted_model, painted_pipeline, video_path
):
    """vtest.avi's frames 410-412 tracked, then tracking off (the app's switch) up to frame 511: frame 512, tracked
    again, was compared with frame 412 and taken for a cut. (Of the frames while off only the last three are fed:
    none of them were looked at.)"""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    tracking = pipeline.config
    for index, image in enumerate(_vtest_frames(video_path, 410, 3), 410):
        pipeline.process(image, index / 10)
    pipeline.configure(dataclasses.replace(tracking, tracker=None))
    frames = _vtest_frames(video_path, 509, 4)
    for index, image in enumerate(frames[:3], 509):
        pipeline.process(image, index / 10)
    pipeline.configure(tracking)
    assert not pipeline.process(frames[3], 51.2).new_shot


def test_a_photo_of_another_shape_starts_a_shot(video_path):
    """An image folder of photos of several aspects: a thumbnail of another shape cannot be scored against the
    last, and is a new shot even of the same scene; the next one of that shape is compared as usual."""
    first, second = _vtest_frames(video_path, 100, 2)
    shots = ShotChanges()
    wide = [cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA) for image in (first, second)]
    assert [shots.is_new_shot(image, t) for t, image in enumerate([first, *wide])] == [False, True, False]


def _shot_changes(
    frames: Iterable[np.ndarray], fps: float, analysed: Callable[[int], bool] = lambda _: True
) -> list[int]:
    """The frames ShotChanges takes for new shots, of those ``analysed`` (by index: those a player or a live source
    got to, the rest passed over)."""
    shots = ShotChanges()
    return [index for index, image in enumerate(frames) if analysed(index) and shots.is_new_shot(image, index / fps)]


def _video_frames(path) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    while (frame := capture.read()[1]) is not None:
        yield frame
    capture.release()


def test_a_continuous_video_has_no_shot_change(video_path):
    """Every frame of vtest.avi against the one before: a false change would give everyone a new ID."""
    shots, changes = ShotChanges(), []
    for frame in _video_frames(video_path):
        changes.append(shots.is_new_shot(frame, len(changes) / 10.0))
    assert len(changes) == 795 and not any(changes)


@pytest.mark.parametrize("steps", [[10], [1, 10], [1, 3]])
def test_frames_passed_over_are_no_shot_change(shared_data, steps):
    """A moving camera at 50 fps, of which only some frames are analysed (the app keeping pace on a slower
    network, `track` on a camera): every 10th frame differed from the last by over 20 grey levels (frames 10 and
    140 taken for cuts), and frames 1 and 10 (or 1 and 3) apart by turns made a long gap score 3 times the mean of
    the last 10, half of them short (frames 11 and 110; 56)."""
    analysed = set(itertools.accumulate(itertools.islice(itertools.cycle(steps), 205), initial=0))
    assert (
        _shot_changes(_video_frames(shared_data / "videos" / "openpose_video.avi"), 50.0, analysed.__contains__) == []
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda image: cv2.add(image, 30), id="a light switched on: 30 grey levels brighter"),
        pytest.param(lambda image: cv2.convertScaleAbs(image, alpha=0.6), id="the exposure cut to 60 %"),
    ],
)
def test_a_change_of_light_is_no_shot_change(video_path, change):
    """vtest.avi's frames 100-139, lit otherwise from frame 120 on (a webcam's demo): each was taken for a cut."""
    capture = cv2.VideoCapture(str(video_path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    frames = [capture.read()[1] for _ in range(40)]
    capture.release()
    frames[20:] = [change(image) for image in frames[20:]]
    assert _shot_changes(frames, 10.0) == []


def test_each_stage_is_timed_in_milliseconds_on_its_own(
    tmp_path, coco_metadata, painted_model, monkeypatch, painted_pipeline
):
    """Each stage's time is the clock between its own start and end, in ms: preprocess read 0.00 ms when given in
    seconds, and inference or tracking took in the stage before them (tracking 1.2 -> 4.2 ms on vtest_clip.mp4)."""
    import core.pipeline

    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    clock = iter([1.0, 1.002, 1.007, 1.008, 1.009, 1.012])  # stages of 2, 5, 1 and 3 ms, 1 ms between two
    monkeypatch.setattr(core.pipeline.time, "perf_counter", lambda: next(clock))
    timings = pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0).timings_ms
    assert timings == pytest.approx({"preprocess": 2.0, "inference": 5.0, "grouping": 1.0, "tracking": 3.0})


def test_an_exported_video_draws_the_boxes_the_overlay_asks_for_not_the_scores(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    """The app's export with boxes ticked and scores not: the video shows boxes, as the view did."""
    import cv2

    from core.draw import Overlay
    from core.frame_loop import run_frames
    from core.sinks import SinkOptions
    from core.sources import open_source

    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "1.png"), np.full((480, 640, 3), 90, np.uint8))
    options = SinkOptions(video=tmp_path / "out.avi")
    with open_source(str(tmp_path / "frames"), 10.0) as source:
        for _ in run_frames(source, str(tmp_path / "frames"), pipeline, options, overlay=Overlay(boxes=True), notes=[]):
            pass
    capture = cv2.VideoCapture(str(tmp_path / "out.avi"))
    written = capture.read()[1].astype(np.float32)
    capture.release()
    pipeline.reset()
    poses = pipeline.process(np.full((480, 640, 3), 90, np.uint8), 0.0).poses
    skeleton = pipeline.model.info.skeleton

    def off(**style):  # how far the written frame is from the picture drawn so
        drawn = draw_poses(np.full((480, 640, 3), 90, np.uint8), poses, skeleton, **style)
        return np.abs(written - drawn).mean()

    assert off(boxes=True) < off(scores=True)


@pytest.mark.parametrize("cap, capped", [(3, [[0, 1]]), (4, [])])
def test_a_run_says_which_frames_reached_the_people_cap(
    tmp_path, coco_metadata, painted_model, painted_pipeline, cap, capped
):
    """A crowd larger than max_people lost its weakest people from every output, and nothing said so: the three
    people of each of two frames reach a cap of 3 (the sidecar and the run's notes say so), not one of 4; the frames
    counted are not the cap."""
    import json

    from core.frame_loop import run_frames
    from core.sinks import SinkOptions
    from core.sources import open_source

    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    decode = dataclasses.replace(DecodeConfig(), max_people=cap)
    pipeline.configure(dataclasses.replace(pipeline.config, decode=decode))
    (tmp_path / "frames").mkdir()
    for index in range(2):
        cv2.imwrite(str(tmp_path / "frames" / f"{index}.png"), np.full((480, 640, 3), 90, np.uint8))
    notes, options = [], SinkOptions(csv=tmp_path / "out.csv")
    with open_source(str(tmp_path / "frames"), 10.0) as source:
        for _ in run_frames(source, str(tmp_path / "frames"), pipeline, options, notes=notes):
            pass
    assert json.loads((tmp_path / "out.csv.json").read_text())["frames_at_people_cap"] == capped
    told = "2 frames reached the 3-people cap: any more people in those frames, the weakest, are not in the outputs"
    assert [note.startswith(told) for note in notes] == ([True] if capped else [])
