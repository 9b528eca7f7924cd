"""onnxruntime CPU latency of the four variants at their paper sizes, measured in one run.

    python benchmarks/model_latency.py [--runs 50] [--json]

Each variant is exported with random weights (latency does not depend on them), warmed up,
then timed round-robin (one run of each variant in turn, so background load hits all of
them alike) for 1 and 2 intra-op threads. Prints median and p90 and the WLitePose/LitePose
ratios; --json prints a list of {variant, size, threads, median_ms, p90_ms}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages, installed or not

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("model_latency")

from models.errors import exit_unless_train_extra  # noqa: E402

exit_unless_train_extra()  # this one, or compression.py importing it

import torch  # noqa: E402

from core.session import open_session  # noqa: E402
from models.export import build_metadata, export_onnx  # noqa: E402
from models.schemas import COCO17  # noqa: E402
from models.wlitepose import build_model  # noqa: E402

VARIANTS = ("litepose_xs", "wlitepose_xs", "litepose_s", "wlitepose_s")
PAIRS = (("wlitepose_xs", "litepose_xs"), ("wlitepose_s", "litepose_s"))


MIN_RUNS = 50


def measure(
    files: dict[str, tuple[Path, int]], threads: int, runs: int, warmup: int = 10, clock=time.perf_counter, opener=None
) -> list[dict]:
    """Median and p90 ms of ``runs`` runs of each file after ``warmup`` untimed ones, round-robin; ``clock`` gives
    seconds, ``opener(path, threads, providers)`` a session (default: ``core.session.open_session``)."""
    opener = opener or (lambda path, threads, providers: open_session(path, threads, providers)[0])
    sessions = {v: opener(p, threads, ["CPUExecutionProvider"]) for v, (p, _) in files.items()}
    inputs = {v: np.random.default_rng(0).random((1, 3, s, s), dtype=np.float32) for v, (_, s) in files.items()}
    times: dict[str, list[float]] = {v: [] for v in files}
    for i in range(warmup + runs):
        for v, session in sessions.items():
            start = clock()
            session.run(None, {"image": inputs[v]})
            if i >= warmup:
                times[v].append((clock() - start) * 1e3)
    return [
        {
            "variant": v,
            "size": files[v][1],
            "threads": threads,
            "median_ms": float(np.median(t)),
            "p90_ms": float(np.percentile(t, 90)),
        }
        for v, t in times.items()
    ]


def describe(rows: list[dict]) -> str:
    """The rows as the table the script prints, then each WLitePose variant's median over its LitePose's
    (above 1: the WLitePose variant is slower)."""
    lines = [f"{'variant':14s} {'size':>5s} {'threads':>7s} {'median ms':>10s} {'p90 ms':>8s}"]
    lines += [
        f"{r['variant']:14s} {r['size']:5d} {r['threads']:7d} {r['median_ms']:10.2f} {r['p90_ms']:8.2f}" for r in rows
    ]
    by_key = {(r["variant"], r["threads"]): r["median_ms"] for r in rows}
    for ours, base in PAIRS:
        ratios = ", ".join(f"{t} thread(s) {by_key[ours, t] / by_key[base, t]:.2f}x" for t in (1, 2))
        lines.append(f"{ours} / {base} median time: {ratios} (above 1: slower)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--runs",
        type=int,
        default=MIN_RUNS,
        help=f"timed runs per variant and thread count (default {MIN_RUNS}, the least)",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}: fewer make the medians noise")
    return args


def main() -> int:
    args = parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for variant in VARIANTS:
            model = build_model(variant)
            path = Path(tmp) / f"{variant}.onnx"
            meta = build_metadata(COCO17, variant, model.input_size, "none", False)
            export_onnx(model, path, meta, check_sizes=((model.input_size, model.input_size),))
            files[variant] = (path, model.input_size)
        rows = [row for threads in (1, 2) for row in measure(files, threads, args.runs)]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(describe(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
