"""`wlitepose eval`: OKS AP of a model file on a COCO/CrowdPose-format keypoint set."""

from __future__ import annotations

import argparse
import json
import sys

from core.errors import WLitePoseError
from core.evaluation import STAT_NAMES, evaluate_model
from core.session import PoseModel
from core.sinks.base import atomic_write, writable


def run_eval(args: argparse.Namespace) -> int:
    out = writable(args.out) if args.out else None
    if not args.annotations.is_file():
        raise WLitePoseError(f"annotations file {args.annotations} does not exist")
    if not args.images.is_dir():
        raise WLitePoseError(f"images folder {args.images} does not exist")
    model = PoseModel(args.model, threads=args.threads)
    stats = evaluate_model(model, args.annotations, args.images, args.size or model.info.input_size)
    print("  ".join(f"{name} {stats[name]:.3f}" for name in STAT_NAMES))
    if out is not None:
        atomic_write(out, (json.dumps(stats, indent=2) + "\n").encode())
        print(f"wlitepose: wrote {out}", file=sys.stderr)
    return 0
