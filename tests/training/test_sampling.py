import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2

from core.stop_request import STOP_SIGNALS
from training import sampling
from training.sampling import epoch_sampler
from training.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


class _Sources:
    def __init__(self, sources):
        self.sources = sources

    def __len__(self):
        return len(self.sources)

    def image_sources(self):
        return self.sources


def test_sample_weights_set_draws_per_image_and_the_epoch_length():
    data = _Sources(["studio"] * 100 + ["video"] * 50 + ["coco"] * 10)
    config = TrainConfig("a", "b", "c", sample_weights={"studio": 0.5, "video": 0.0, "coco": 3.0})
    sampler = epoch_sampler(data, config)
    assert len(sampler) == 80  # 100 * 0.5 + 10 * 3
    draws = Counter(data.sources[i] for _ in range(50) for i in sampler)
    assert draws["video"] == 0
    assert 1.4 < draws["studio"] / draws["coco"] < 1.95  # expected 100 * 0.5 : 10 * 3 = 50 : 30


def test_a_tiny_sample_weight_still_draws_its_images():
    config = TrainConfig("a", "b", "c", sample_weights={"rare": 1e-50})  # 0 as a float32
    assert list(epoch_sampler(_Sources(["rare"] * 3), config)) in ([0], [1], [2])


def test_without_weights_the_loader_shuffles_the_whole_set_once_per_epoch():
    sampler = epoch_sampler(_Sources(["x"] * 50), TrainConfig("a", "b", "c"))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(50)) and first != second


def test_a_loader_worker_leaves_the_stop_signals_to_the_training_process():
    """A spawned worker (macOS, Windows) took SIGTERM or SIGHUP's default action: killed before the training
    process stopped after its step, it ended the run in torch's "worker exited unexpectedly" traceback."""
    handlers, threads = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}, cv2.getNumThreads()
    try:
        for sig in STOP_SIGNALS:  # not ignored already (pytest run under nohup or in the background)
            signal.signal(sig, signal.SIG_DFL)
        sampling._start_worker(0)
        assert all(signal.getsignal(sig) is signal.SIG_IGN for sig in STOP_SIGNALS)
        assert cv2.getNumThreads() == 1
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        cv2.setNumThreads(threads)


def test_ending_a_loaders_workers_leaves_none_running():
    """A run ended by an error kept its loader's iterator in the traceback: Python's exit ended the workers by
    SIGTERM, which they ignore, and waited for them for ever."""
    done = subprocess.run([sys.executable, "-c", ENDING_WORKERS], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout == "ended\n", done.stderr


# in a process of its own: a worker forked from pytest's, after other tests' threads, can hang on a lock
ENDING_WORKERS = """
from torch.utils.data import DataLoader
from training import sampling
loader = DataLoader(list(range(4)), num_workers=1, persistent_workers=True, worker_init_fn=sampling._start_worker)
assert sorted(int(x) for x in loader) == [0, 1, 2, 3]
iterator = loader._iterator
try:
    sampling.end_workers(loader)
    assert loader._iterator is None and not any(worker.is_alive() for worker in iterator._workers)
    sampling.end_workers(loader)  # none left: nothing to do
    print("ended")
finally:
    iterator._shutdown_workers()  # else a failure here hangs the exit, as it hung a run's
"""
