"""benchmarks/model_latency.py: median and p90 times, the ratios of each variant, its count of runs."""

from pathlib import Path

import numpy as np
import pytest


def test_model_latency_is_median_and_p90_ms_of_the_timed_runs_at_the_threads_asked(load_benchmark, fake_clock):
    """Two warm-up runs of 1 s each, then five timed runs per file: a's 1, 2, 3, 4 and 10 ms (median 3, mean 4),
    b's 2 ms each; round-robin, with the thread count asked of every session, each fed an image of its size."""
    model_latency = load_benchmark("model_latency")
    clock, opened, fed = fake_clock(), [], set()
    costs = {"a": iter([1.0, 1.0, 0.001, 0.002, 0.003, 0.004, 0.010]), "b": iter([1.0, 1.0] + [0.002] * 5)}

    class Session:
        def __init__(self, path: Path, threads: int, providers: list[str]) -> None:
            opened.append(threads)
            self.costs = costs[path.stem]

        def run(self, outputs, feeds) -> None:
            fed.add(feeds["image"].shape)
            clock.now += next(self.costs)

    files = {"a": (Path("a.onnx"), 32), "b": (Path("b.onnx"), 64)}
    rows = model_latency.measure(files, threads=2, runs=5, warmup=2, clock=clock, opener=Session)
    assert opened == [2, 2] and [(r["variant"], r["size"], r["threads"]) for r in rows] == [("a", 32, 2), ("b", 64, 2)]
    assert fed == {(1, 3, 32, 32), (1, 3, 64, 64)}
    assert [r["median_ms"] for r in rows] == pytest.approx([3.0, 2.0])
    assert [r["p90_ms"] for r in rows] == pytest.approx([np.percentile([1, 2, 3, 4, 10], 90), 2.0])


def test_model_latency_ratios_are_each_wlitepose_variant_over_its_litepose(load_benchmark):
    model_latency = load_benchmark("model_latency")
    medians = {
        "litepose_xs": (10.0, 8.0),
        "wlitepose_xs": (5.0, 2.0),
        "litepose_s": (20.0, 10.0),
        "wlitepose_s": (30, 5),
    }
    rows = [
        {"variant": v, "size": 256, "threads": t, "median_ms": float(ms[t - 1]), "p90_ms": 1.0}
        for t in (1, 2)
        for v, ms in medians.items()
    ]
    text = model_latency.describe(rows)
    assert text.splitlines()[1].split() == ["litepose_xs", "256", "1", "10.00", "1.00"]  # median, then p90
    assert "wlitepose_xs / litepose_xs median time: 1 thread(s) 0.50x, 2 thread(s) 0.25x (above 1: slower)" in text
    assert "wlitepose_s / litepose_s median time: 1 thread(s) 1.50x, 2 thread(s) 0.50x (above 1: slower)" in text


def test_model_latency_runs_its_default_and_refuses_fewer_runs(capsys, load_benchmark):
    model_latency = load_benchmark("model_latency")
    assert model_latency.parse_args([]).runs == model_latency.MIN_RUNS == 50
    with pytest.raises(SystemExit):
        model_latency.parse_args(["--runs", "49"])
    assert "--runs must be at least 50" in capsys.readouterr().err
