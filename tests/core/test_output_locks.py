"""Output locks: a run holds each output it writes against other runs, under every spelling of its path, lets go of
them however it ends, and takes over a lock a killed run left."""

import errno
import os
import threading
from pathlib import Path

import pytest

from core.errors import WLitePoseError
from core.output_lock import check_free, take
from core.poses import Poses
from core.sinks import SinkOptions, open_sinks
from core.sinks.base import name_key
from core.sinks.multi import output_paths, plan_outputs


def test_open_outputs_are_held_against_other_runs_until_closed(tmp_path, toy_info, toy_meta):
    options = SinkOptions(csv=tmp_path / "out.csv", openpose_dir=tmp_path / "openpose", video=tmp_path / "out.avi")
    with open_sinks(options, toy_info, toy_meta):
        held = ("out.csv", "out.csv.json", "openpose/clip.openpose", "out.avi")  # another run's COCO JSON named
        for output in (tmp_path / name for name in held):  # like the sidecar, too
            with pytest.raises(WLitePoseError, match="another run .* is writing"):
                take(output)  # what a second run does (the lock is the system's: one process or two alike)
    with take(tmp_path / "out.csv"), take(tmp_path / "openpose" / "clip.openpose"):
        pass  # let go at close
    assert not list(tmp_path.rglob("*.wlitepose-lock"))


def test_a_refused_output_is_named_as_the_run_calls_it(tmp_path, toy_info, toy_meta):
    """An OpenPose folder another run writes is refused by this source's frames in it, not by the hidden name its
    lock takes."""
    options = SinkOptions(openpose_dir=tmp_path / "openpose")
    with open_sinks(options, toy_info, toy_meta):
        with pytest.raises(WLitePoseError, match="is writing clip's OpenPose frames in .*openpose right now"):
            open_sinks(options, toy_info, toy_meta)


def test_the_outputs_the_caller_holds_are_passed_over_however_they_are_spelt(tmp_path, monkeypatch, toy_info, toy_meta):
    """The app's export of a file its own recording writes, spelt ~/...: the window says so, where the check of
    locks blamed another run."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    (tmp_path / "clip.mp4").write_bytes(b"")
    recording = SinkOptions(csv=tmp_path / "clip.csv")
    with open_sinks(recording, toy_info, toy_meta):
        held = frozenset(name_key(path) for path in output_paths(recording))
        jobs = plan_outputs([str(tmp_path / "clip.mp4")], SinkOptions(csv="~/{name}.csv"), (), held=held)
    assert [spec for spec, _ in jobs] == [str(tmp_path / "clip.mp4")]


def test_a_batch_looks_at_each_file_it_reads_once_however_many_sources_it_has(tmp_path, monkeypatch):
    """Each source's outputs were checked against every file the batch reads, all looked at again for each
    source: 300 clips took 4 s before the first frame (1000 a minute, the app's window hung as long)."""
    import core.sinks.base

    clips = [tmp_path / f"clip{i}.avi" for i in range(20)]
    for clip in clips:
        clip.write_bytes(b"")
    looked_at, identity = [], core.sinks.base._identity
    monkeypatch.setattr(core.sinks.base, "_identity", lambda path: looked_at.append(Path(path)) or identity(path))
    plan_outputs(list(map(str, clips)), SinkOptions(csv=tmp_path / "out" / "{name}.csv"), tuple(map(str, clips)))
    assert [looked_at.count(clip) for clip in clips] == [1] * len(clips)


def test_an_output_is_held_under_every_spelling_and_where_locks_are_unsupported_runs_go_on(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real" / "out.csv")
    monkeypatch.setenv("HOME", str(tmp_path))
    with take(tmp_path / "real" / "out.csv"):
        for spelling in (tmp_path / "alias" / "out.csv", Path("~/alias/../real/out.csv")):
            with pytest.raises(WLitePoseError, match="another run .* is writing"):
                take(spelling)
        # a link at an output's own name is replaced by it (own_file): the link's name is an output of its own,
        # whose lock two runs writing through it share (they did not: the lock followed the link, the file not)
        with take(tmp_path / "link.csv"), pytest.raises(WLitePoseError, match="another run .* is writing"):
            take(Path("~/alias/../link.csv"))
    assert not (Path.cwd() / "~").exists()
    long = tmp_path / f"{'b' * 245}.mp4"  # a name the file system takes; ".NAME.wlitepose-lock" it would not
    with take(long) as lock:
        assert lock.path.parent == tmp_path and len(lock.path.name) < 60
        with pytest.raises(WLitePoseError, match="another run"):
            take(tmp_path / f"{'B' * 245}.MP4")  # one file on Windows and macOS: one lock everywhere
    with take(tmp_path / f"{'é' * 120}.mp4") as lock:  # 244 bytes in 124 letters: the lock's name counts bytes
        assert len(lock.path.name) < 60
    import core.output_lock

    def unsupported(fd):
        raise OSError(errno.ENOLCK, "No locks available")  # an NFS mount without its lock daemon

    monkeypatch.setattr(core.output_lock, "_try_lock", unsupported)
    with take(tmp_path / "out.csv"), take(tmp_path / "out.csv"):  # not refused for ever
        core.output_lock.check_free(tmp_path / "out.csv")
    assert "takes no lock (No locks available)" in capsys.readouterr().err
    (tmp_path / ".out.csv.wlitepose-lock").write_bytes(b"")  # one a killed run left: no holder, not refused for ever
    core.output_lock.check_free(tmp_path / "out.csv")


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_lock_file_removed_between_its_opening_and_locking_is_not_held(tmp_path, monkeypatch):
    """The holder lets go and removes the file after another run opened it but before it locked it: that run
    holds a file no longer at the lock's name, and takes the new one, so a third run cannot hold it as well."""
    import core.output_lock
    from core.output_lock import lock_path

    output, try_lock, removed = tmp_path / "c.csv", core.output_lock._try_lock, []

    def holder_lets_go_first(fd):
        if not removed:
            removed.append(lock_path(output))
            lock_path(output).unlink()
        try_lock(fd)

    monkeypatch.setattr(core.output_lock, "_try_lock", holder_lets_go_first)
    with take(output):
        assert removed and lock_path(output).is_file()
        with pytest.raises(WLitePoseError, match="another run"):
            take(output)


def test_another_users_lock_left_by_a_killed_run_is_taken_over(tmp_path, monkeypatch):
    """In a shared folder a killed run's lock, made 0644 whatever the umask, could not be opened by the next user:
    'cannot write c.csv: Permission denied' after the model loaded, naming a file they could write."""
    from core.output_lock import lock_path

    output = tmp_path / "c.csv"
    old = os.umask(0)
    try:
        with take(output):
            assert lock_path(output).stat().st_mode & 0o777 == 0o666  # the umask decides, as for the outputs
    finally:
        os.umask(old)
    lock_path(output).write_bytes(b"")  # left by a run killed outright
    real_open = os.open

    def not_ours(path, flags, *mode):  # what another user meets at a 0644 lock (root passes any permission)
        if Path(path) == lock_path(output) and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", not_ours)
    with take(output):  # held on a file opened to read
        with pytest.raises(WLitePoseError, match="another run"):
            take(output)
    monkeypatch.undo()
    with take(output):  # the check before a run's work, at another user's held lock: was taken for free, and
        monkeypatch.setattr(os, "open", not_ours)  # eval refused only after its scoring
        with pytest.raises(WLitePoseError, match="another run"):
            check_free(output)


def test_an_output_that_cannot_open_lets_go_of_the_locks_already_taken(tmp_path, monkeypatch, toy_info, toy_meta):
    """The last output failing to open (a full disk): the locks of all of them are let go and their files removed,
    not left beside the outputs."""
    import core.sinks.multi

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(core.sinks.multi, "PoseC3DSink", full_disk)
    options = SinkOptions(csv=tmp_path / "out.csv", posec3d=tmp_path / "out.pkl")
    with pytest.raises(WLitePoseError, match="cannot write .*out.pkl: No space left on device"):
        open_sinks(options, toy_info, toy_meta)
    assert not list(tmp_path.rglob("*.wlitepose-lock"))


def test_ctrl_c_while_the_outputs_open_leaves_no_lock_and_no_empty_video(tmp_path, monkeypatch, toy_info, toy_meta):
    """Ctrl+C as the third output opens: those already open are closed (a video without frames removed) and the
    locks let go, their files removed, as for an output that could not open."""
    from core.sinks import multi

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(multi, "CocoJsonSink", interrupted)
    options = SinkOptions(video=tmp_path / "out.avi", csv=tmp_path / "out.csv", coco_json=tmp_path / "out.json")
    with pytest.raises(KeyboardInterrupt):
        open_sinks(options, toy_info, toy_meta)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv", "out.csv.json"]


def test_a_file_system_without_locks_is_left_without_lock_files(tmp_path, monkeypatch, toy_info, toy_meta):
    """An NFS mount without its lock daemon: the run goes on unlocked, and leaves no hidden file beside each output."""
    import errno

    import core.output_lock

    def unsupported(fd):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(core.output_lock, "_try_lock", unsupported)
    with open_sinks(SinkOptions(csv=tmp_path / "out.csv"), toy_info, toy_meta) as sinks:
        sinks.write(0, 0.0, Poses.empty(3))
    assert (tmp_path / "out.csv").is_file() and not list(tmp_path.rglob("*.wlitepose-lock"))


def test_a_lock_that_cannot_be_opened_is_named_in_the_refusal(tmp_path, monkeypatch):
    """Another user's 0600 lock: 'cannot write c.csv: Permission denied' named a file the user could write."""
    from core.output_lock import lock_path

    output = tmp_path / "c.csv"
    real_open = os.open

    def refused(path, flags, *mode):
        if Path(path) == lock_path(output):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(
        WLitePoseError, match=r"c.csv: .c.csv.wlitepose-lock beside it, where a run keeps its lock: Perm"
    ):
        take(output)


def test_a_folder_at_a_locks_name_is_said_by_the_check_before_any_work(tmp_path):
    (tmp_path / ".d.csv.wlitepose-lock").mkdir()
    with pytest.raises(WLitePoseError, match=r"^cannot write .*d.csv: .d.csv.wlitepose-lock beside it, where a run"):
        check_free(tmp_path / "d.csv")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_the_check_before_a_run_never_waits_on_a_fifo_it_may_only_read(tmp_path, monkeypatch):
    """Its read-only fallback opened another user's FIFO at a lock's name as a file: the check blocked for ever."""
    from core.output_lock import lock_path

    output = tmp_path / "out.csv"
    os.mkfifo(lock_path(output))
    real_open = os.open

    def read_only(path, flags, *mode):  # what another user meets at a 0444 FIFO
        if Path(path) == lock_path(output) and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", read_only)
    outcome = []

    def check() -> None:
        try:
            check_free(output)
        except WLitePoseError as error:
            outcome.append(str(error))

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(10)
    assert outcome and "is a link or a FIFO" in outcome[0]
