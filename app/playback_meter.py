"""How a source plays, as the window shows it: the frame rate of the frames shown lately, a file's video seconds
played a second (below 1 where a slow machine falls behind the file's clock), and how long no frame has come. Plain
Python on the times the window hands it: no Qt, no clock of its own."""

from __future__ import annotations

import math

# The frame rate counts the frames of about the last this many seconds (however many frames that is: smooth at
# 30 fps, and at 2.5 fps after a speed change it reads right within about two seconds).
FPS_AVERAGE_S = 0.5
SPEED_AVERAGE_S = 2.0  # the playback speed, of about the last this many seconds (steadier: it is a warning)
# While it plays and no frame has come for this long, or for this many frame times of its pace, it has stalled
# (a stream that stops sending, a worker busy with a frame).
STALL_AFTER_S, STALL_FRAMES = 1.0, 3


class PlaybackMeter:
    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Start over: the source plays at another pace now (another source, rate or speed)."""
        self._recent = (0.0, 0.0)  # (frames, seconds) lately, each fading over FPS_AVERAGE_S: see decayed
        self._played = (0.0, 0.0)  # (video seconds played, seconds) lately, over SPEED_AVERAGE_S
        self._last_time = 0.0  # when the last frame was shown while playing; 0 when paused or before one
        self._last_index = -1

    def pause(self) -> None:
        """A pause is neither a frame interval nor slow playback: both are measured afresh after it; the frame
        rate stays what it was, for a paused frame's line."""
        self._played, self._last_time = (0.0, 0.0), 0.0

    def frame_shown(self, now: float, index: int, skipped: int, playing: bool, file_fps: float) -> None:
        """Frame ``index`` shown at ``now`` (seconds), ``skipped`` frames passed over before it to keep pace;
        ``file_fps`` is a file's frame rate (0 for a live source: it has no speed to fall behind). A paused frame
        shown again or stepped to measures nothing."""
        if playing and self._last_time:
            interval = max(now - self._last_time, 1e-6)
            self._recent = decayed(*self._recent, interval)
            self.played(index - self._last_index, skipped, interval, file_fps)
        self._last_time, self._last_index = (now if playing else 0.0), index

    def played(self, frames: int, skipped: int, interval: float, file_fps: float) -> None:
        """``frames`` on in frame index after ``interval`` seconds, ``skipped`` of them passed over to keep pace:
        without 'Keep pace' (or while recording) a file plays every frame, so on a slow machine it falls behind
        its clock. Other jumps (seeks) are left out."""
        if file_fps > 0 and 0 < frames - skipped <= 2:
            self._played = decayed(*self._played, interval, added=frames / file_fps, over=SPEED_AVERAGE_S)

    @property
    def fps(self) -> float:
        """Frames a second lately (0 before two frames have played)."""
        frames, seconds = self._recent
        return frames / seconds if seconds else 0.0

    @property
    def play_speed(self) -> float:
        """Video seconds played a second lately (a ratio of sums: a mean of each frame's ratios leans to the
        short intervals, and read 0.86x for 0.81x); inf before any was measured."""
        played, seconds = self._played
        return played / seconds if seconds else float("inf")

    def stalled_for(self, now: float, pace: float) -> float:
        """Seconds since the last frame where that is long overdue, at the frame rate lately or else at ``pace``
        (frames a second the source should play at); 0 when it is not, or nothing plays."""
        if not self._last_time:
            return 0.0
        pace = self.fps or pace
        gap = now - self._last_time
        return gap if gap >= max(STALL_AFTER_S, STALL_FRAMES / pace if pace > 0 else 0.0) else 0.0


def decayed(
    amount: float, seconds: float, interval: float, added: float = 1.0, over: float = FPS_AVERAGE_S
) -> tuple[float, float]:
    """An amount and the seconds it took lately, with ``added`` more (a frame) ``interval`` s after the last:
    what came before fades by e every ``over`` seconds, so amount / seconds is the rate of about that long at
    any rate."""
    fade = math.exp(-interval / over)
    return amount * fade + added, seconds * fade + interval
