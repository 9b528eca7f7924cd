"""`wlitepose track`: source -> pipeline -> sinks, with a progress bar and a per-stage summary on stderr."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from core.errors import OutputTaken, ReaderGone, SourceFailed, Stopped, WLitePoseError, signal_of
from core.frame_loop import rerun_reason, run_frames
from core.pipeline import PipelineConfig, PosePipeline, check_fractions, tuned_config
from core.preprocess import check_input_size
from core.progress import BatchStanding, ProgressBar, StageTimes, first_few
from core.session import PoseModel, check_threads
from core.sinks import SinkOptions
from core.sinks.csv_sink import is_stdout, stdout_closed
from core.sinks.multi import being_written, plan_outputs, wait_while_written, written_names
from core.sinks.video import check_video_fps
from core.sources import (
    IMAGE_FOLDER_FPS,
    check_image_fps,
    clean_spec,
    expand_wildcards,
    frames_due,
    frames_in,
    is_live,
    open_source,
    source_name,
    without_password,
)
from core.stop_request import StopRequest

SUMMARY_NAMES = 10  # sources a batch's last line names of those that failed or warned (each said above): 300 made
# one line of 9,660 characters


def resolve_model(model: Path | None, default: Path) -> Path:
    if model is not None:
        return model
    if not default.is_file():
        raise WLitePoseError(f"the default model {default} is not installed yet; pass --model FILE.onnx")
    return default


def pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    """The pipeline the options describe (each threshold range-checked)."""
    options = ("detection_threshold", "keypoint_threshold", "smoothing")
    if args.no_track and args.smoothing is not None:
        raise WLitePoseError("--smoothing smooths each person's track; with --no-track there are no tracks to smooth")
    if args.no_track and args.no_shot_changes:
        raise WLitePoseError("--no-shot-changes keeps tracks across cuts; with --no-track there are no tracks")
    check_fractions({f"--{option.replace('_', '-')}": getattr(args, option) for option in options})
    return tuned_config(
        args.size,
        args.detection_threshold,
        args.keypoint_threshold,
        args.smoothing,
        tracking=not args.no_track,
        shot_changes=not args.no_shot_changes,
    )


def _prepared(args: argparse.Namespace, default_model: Path) -> tuple[SinkOptions, tuple, list, PosePipeline]:
    """The run's options checked, its outputs planned and its model loaded, nothing written yet: (the outputs asked
    for, the files it reads, each source with its outputs, the pipeline)."""
    args.sources = expand_wildcards([clean_spec(spec) for spec in args.sources])  # " clip.mp4 " is clip.mp4 throughout
    if args.max_frames is not None and args.max_frames < 1:
        raise WLitePoseError("--max-frames must be at least 1")
    check_input_size(args.size)
    config = pipeline_config(args)
    check_threads(args.threads, "--threads")
    if args.fps is not None:
        check_image_fps(args.fps, args.sources)
        if args.video is not None:
            check_video_fps(args.video, args.fps)
    options = SinkOptions(
        args.csv, args.coco_json, args.openpose_dir, args.posec3d, args.video, coco_dataset=args.coco_dataset
    )
    model_path = resolve_model(args.model, default_model)
    inputs = (model_path, *args.sources)
    if len(args.sources) > 1 and args.max_frames is None and any(map(is_live, args.sources)):
        raise WLitePoseError("a webcam or stream in a batch needs --max-frames, or the sources after it never start")
    if args.skip_done and (not args.csv or is_stdout(args.csv)):
        raise WLitePoseError(
            "--skip-done needs --csv with a file: the CSV's sidecar records whether a run finished (--csv - has none)"
        )
    if is_stdout(args.csv) and stdout_closed():  # else the run ends at its first row, exit 0, having written nothing
        raise WLitePoseError(
            "--csv - writes to the standard output, which is closed (>&-): give --csv a file name, or send the "
            "standard output to a file (> rows.csv) or a program (| script)"
        )
    jobs = plan_outputs(args.sources, options, inputs, shared=args.skip_done)  # runs sharing a batch
    return options, inputs, jobs, PosePipeline(PoseModel(model_path, threads=args.threads), config)


def run_track(args: argparse.Namespace, default_model: Path) -> int:
    """Each source in turn through one model; in a batch a source that fails is reported and the rest go on."""
    image_fps = args.fps or IMAGE_FOLDER_FPS
    try:
        options, inputs, jobs, pipeline = _prepared(args, default_model)
        # the frames of each source a batch is to track: every file opened once, seconds for hundreds
        left = frames_left(jobs, args, pipeline, image_fps) if len(jobs) > 1 else {}
    except KeyboardInterrupt as error:  # Ctrl-C before the run's own handler: a big batch planned, the model loading
        raise Stopped(signal_of(error), before_start=True) from error
    if not written_names(options):
        print(
            "wlitepose: no output asked for (--csv, --video, --coco-json, --coco-dataset, --openpose-dir, "
            "--posec3d): this run only measures speed",
            file=sys.stderr,
        )
    run = _TrackRun(args, jobs, pipeline, inputs, image_fps, left)
    with run.stop:
        try:
            run.track_all()
        except ReaderGone:  # `--csv - | head`: the reader has what it wanted (one source: the run's end)
            if others := written_names(jobs[0][1])[1:]:  # the CSV on the standard output comes first
                print(f"wlitepose: the CSV's reader left: {', '.join(others)} end at that frame", file=sys.stderr)
            return 0
    if not run.batch:
        return 0
    print(run.summary(), file=sys.stderr)
    return 2 if run.failed else 0


class _TrackRun:
    """A track run's sources in turn, and its standing as it goes: the sources that failed, warned or were passed over,
    the frames tracked and the seconds they took. One source is a batch of one whose error is the run's error."""

    def __init__(
        self,
        args: argparse.Namespace,
        jobs: list,
        pipeline: PosePipeline,
        inputs: tuple,
        image_fps: float,
        left: dict,
    ) -> None:
        self.args, self.jobs, self.pipeline, self.inputs, self.image_fps = args, jobs, pipeline, inputs, image_fps
        self.standing = BatchStanding(left)  # frames_left's counts: each source's frames still to track
        self.batch = len(jobs) > 1  # one source: its error is the run's error
        self.settings = pipeline.settings()
        self.failed, self.warned, self.passed, self.elsewhere = [], [], [], []
        self.started = time.perf_counter()
        self.later = []  # --skip-done: (number, spec, options) of each source another run held, taken up after the pass
        self.doing = ""  # what the run was doing with the source settle() was last given, for a stop's line ("": none)
        self.stop = StopRequest()  # its signal handlers set while the sources are tracked (`with run.stop`)

    def track_all(self) -> None:
        """Each source in turn, then each one another run held, once it lets go: finished by it, or tracked here."""
        for number, (spec, options) in enumerate(self.jobs, 1):
            self.settle(number, spec, options, waiting=False)
            self.stop_if_asked(spec, [spec for spec, _ in self.jobs[number:]])
        while self.later:
            number, spec, options = self.later.pop(0)
            self.settle(number, spec, options, waiting=True)
            self.stop_if_asked(spec, [])

    def settle(self, number: int, spec: str, options: SinkOptions, waiting: bool) -> None:
        """Source ``number``: passed over if finished before, else tracked. With --skip-done one whose outputs
        another run holds is passed over for now; ``waiting`` (the pass done), its locks are waited for, and it is
        passed over if that run finished it."""
        shown, self.doing, due = without_password(spec), "", self.standing.take(number)  # what messages may print
        held = being_written(options, source_name(spec)) if self.args.skip_done else None
        if held and not waiting:
            self.pass_over(number, spec, options, held, due)
            return
        if held:
            print(f"wlitepose: waiting for another run to finish {shown} (it holds {held})", file=sys.stderr)
            held = wait_while_written(options, source_name(spec), held, self.stop.wait)
            if held:
                self.doing = "while waiting for another run to finish"
                return  # stopped: the caller says so
        why = (
            rerun_reason(spec, options, self.pipeline.model.info.sha256, self.settings, self.image_fps)
            if self.args.skip_done
            else ""
        )
        if why is None:
            said = "done by another run" if waiting else "finished before, passed over"
            print(f"wlitepose: [{number}/{len(self.jobs)}] {shown}: {said}", file=sys.stderr)
            (self.elsewhere if waiting else self.passed).append(shown)
            return
        if self.batch or why:  # a long video run again is told why
            self.announce(number, shown, why, due)
        self.doing = "during"
        self.track(number, spec, options, due)

    def announce(self, number: int, shown: str, why: str, due: int | None) -> None:
        """Source ``number``'s line before it is tracked: why it runs again, and in a batch what is left."""
        again = f": run again: {why}" if why else ""
        standing = f" (batch: {self.standing.told(due)})" if self.batch else ""
        print(f"wlitepose: [{number}/{len(self.jobs)}] {shown}{again}{standing}", file=sys.stderr)

    def track(self, number: int, spec: str, options: SinkOptions, due: int | None) -> None:
        """Source ``number`` tracked, its frames and seconds counted; in a batch one that fails is reported."""
        try:
            frames, seconds, notes = track_source(
                spec, options, self.pipeline, self.inputs, self.args.max_frames, self.stop, self.image_fps
            )
            self.standing.frames += frames
            self.standing.seconds += seconds  # from each source's first frame to its last: the batch's rate
            if notes:
                self.warned.append(without_password(spec))
        except SourceFailed as error:
            if self.args.skip_done and error.taken:  # the other run took the outputs since being_written
                self.pass_over(number, spec, options, error.taken, due)
            elif not self.batch:
                raise
            else:
                print(f"wlitepose: error: {error} ({error.left_behind()})", file=sys.stderr)
                self.failed.append(without_password(spec))

    def pass_over(self, number: int, spec: str, options: SinkOptions, held: str, due: int | None) -> None:
        """Source ``number``, whose outputs another run holds, for later (runs sharing a batch); its ``due``
        frames are still to do, here or by that run."""
        self.standing.counts[number] = due
        print(
            f"wlitepose: [{number}/{len(self.jobs)}] {without_password(spec)}: being tracked by another run (it "
            f"holds {held}), passed over for now",
            file=sys.stderr,
        )
        self.later.append((number, spec, options))

    def stop_if_asked(self, spec: str, after: list[str]) -> None:
        """Stopped after source ``spec``, if asked: ``after`` are the pass's sources after it, not started either,
        like those passed over for now."""
        if self.stop.requested:
            if self.batch:
                not_started = [other for _, other, _ in self.later] + after
                doing = self.doing
                stopped = f"wlitepose: stopped {doing} {without_password(spec)}" if doing else "wlitepose: stopped"
                stopped += f"; not started: {', '.join(map(without_password, not_started))}" if not_started else ""
                print(stopped, file=sys.stderr)
            raise Stopped(self.stop.signum)  # main() reports it; the outputs are already closed

    def summary(self) -> str:
        """The batch's last line: the sources done, passed over, warned and failed (each failure said above)."""
        done = len(self.jobs) - len(self.failed) - len(self.passed) - len(self.elsewhere)
        return (
            f"wlitepose: {done} of {len(self.jobs)} sources done, {self.standing.frames} frames in "
            f"{time.perf_counter() - self.started:.1f} s"
            + (f"; {len(self.passed)} finished before, passed over (--skip-done)" if self.passed else "")
            + (f"; {len(self.elsewhere)} done by another run (--skip-done)" if self.elsewhere else "")
            + (f"; with warnings (above): {first_few(self.warned, SUMMARY_NAMES)}" if self.warned else "")
            + (f"; failed: {first_few(self.failed, SUMMARY_NAMES)}" if self.failed else "")
        )


def frames_left(jobs: list, args: argparse.Namespace, pipeline: PosePipeline, image_fps: float) -> dict:
    """Each source's number (from 1) and the frames a batch is to track of it, as its file or folder counts them
    (None: not known), at most --max-frames; 0 for one --skip-done is to pass over, finished before."""
    model, settings, left = pipeline.model.info.sha256, pipeline.settings(), {}
    for number, (spec, options) in enumerate(jobs, 1):
        finished = args.skip_done and rerun_reason(spec, options, model, settings, image_fps) is None
        count = 0 if finished else frames_in(spec, image_fps)
        left[number] = count if count is None or args.max_frames is None else min(count, args.max_frames)
    return left


def track_source(
    spec: str,
    options: SinkOptions,
    pipeline: PosePipeline,
    inputs: tuple,
    max_frames: int | None,
    stop: StopRequest,
    image_fps: float,
) -> tuple[int, float, list[str]]:
    """One source through the pipeline into its sinks (an image folder played at ``image_fps``); returns the
    frames processed, the seconds from the first to the last (its opening left out) and the warnings said about
    it (a video cut short, a folder's skipped images).
    SourceFailed, with the frames written, if it fails."""
    times, notes = StageTimes(), []
    try:
        model = pipeline.model
        try:
            opened = open_source(spec, image_fps)
        except WLitePoseError:
            if stop.requested:  # Ctrl-C while a stream was opening, whose wait then ended in an error: a stop
                return 0, 0.0, []
            raise
        with opened as source:
            total = frames_due(source.frame_count, max_frames)
            rate = f"{source.fps:.1f}" if source.fps >= 1 else f"{source.fps:.2g}"  # a time-lapse's 0.001 too
            print(
                f"wlitepose: {model.info.variant} ({model.provider}), input {pipeline.input_size}, "
                f"source {source.size[0]}x{source.size[1]} @ {rate} fps",
                file=sys.stderr,
            )
            # the CSV's rows on the terminal the bar is drawn on: a redraw would land amid them (the rows show the
            # run going; the summary still ends it)
            rows_shown = is_stdout(options.csv) and sys.stdout.isatty() and sys.stderr.isatty()

            def due() -> int | None:  # a folder's images passed over are no frames due: the bar ends full
                return frames_due(source.frames_shown(), max_frames)

            progress = ProgressBar(due(), hidden=rows_shown)
            started, said = time.perf_counter(), []
            try:
                with contextlib.closing(
                    run_frames(source, spec, pipeline, options, inputs, notes=said, max_frames=max_frames)
                ) as frames:
                    for timings in frames:
                        times.add(timings)
                        times.frames += 1
                        progress.total = due()
                        progress.update()
                        if stop.requested:
                            break
            finally:
                progress.total = due()  # an image passed over after the last frame too
                progress.close()
            if source.is_live and source.skipped:
                sent = times.frames + source.skipped
                print(
                    f"wlitepose: {source.skipped} of the {sent} frames the source sent came while the pipeline was "
                    "busy and were skipped (a smaller --size keeps up with more)",
                    file=sys.stderr,
                )
            if source.end_reason:  # a stream that dropped: a batch's summary names it among the warnings
                notes = [source.end_reason]
            elif not stop.requested:
                notes = source.end_notes(times.frames, total, outputs=bool(written_names(options)))
            notes = notes + said
            for note in notes:
                print(f"wlitepose: warning: {note}", file=sys.stderr)
        if times.frames == 0:
            raise WLitePoseError(f"source {without_password(spec)} delivered no frames")
        seconds = time.perf_counter() - started
        print(times.summary(seconds), file=sys.stderr)
        if names := written_names(options):
            print(f"wlitepose: wrote {', '.join(names)}", file=sys.stderr)
        return times.frames, seconds, notes
    except WLitePoseError as error:
        raise SourceFailed(str(error), times.frames, error.output if isinstance(error, OutputTaken) else None) from None
