"""`wlitepose info` and `wlitepose export`. Only the standard library is imported at module level."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    from core.cli import given

    from_variant = {"info": True, "export": False}[name]
    if from_variant:
        parser.add_argument("--variant", required=True, help="wlitepose_xs, wlitepose_s, litepose_xs or litepose_s")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    else:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--checkpoint", type=given, help="a training checkpoint (.pt) written by `wlitepose train`")
        source.add_argument("--variant", help="export this variant with random weights (marked untrained), for tests")
        parser.add_argument("--out", required=True, type=given, help="the .onnx file to write")
        parser.add_argument(
            "--fp16-weights", action="store_true", help="store the weights as float16 (half the file; computed in fp32)"
        )
    parser.add_argument("--size", type=int, help="input size, a multiple of 32 (default: the variant's paper size)")
    heads = parser.add_mutually_exclusive_group() if from_variant else parser
    heads.add_argument("--schema", choices=["coco", "crowdpose"], help="keypoint schema for --variant (default coco)")
    if from_variant:
        heads.add_argument(
            "--keypoints", type=int, help="keypoint count of another schema, 1-1024 (default: the schema's)"
        )


def run(name: str, args: argparse.Namespace) -> int:
    from models.errors import require_train_extra

    require_train_extra(f"`wlitepose {name}`")
    return _info(args) if name == "info" else _export(args)


def _info(args: argparse.Namespace) -> int:
    import torch

    from core.model_file import MAX_KEYPOINTS
    from core.preprocess import check_input_size
    from models.complexity import measure
    from models.errors import ModelError
    from models.schemas import get_schema
    from models.wlitepose import build_model

    keypoints = get_schema(args.schema or "coco").num_keypoints if args.keypoints is None else args.keypoints
    if not 0 < keypoints <= MAX_KEYPOINTS:  # 100,000 took all memory building the network
        raise ModelError(f"--keypoints must be a count from 1 to {MAX_KEYPOINTS}, not {keypoints}")
    model = build_model(args.variant, num_keypoints=keypoints)
    size = model.input_size if args.size is None else args.size
    check_input_size(size)
    c = measure(model, size)
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 3, size, size))
    shapes = {field: list(t.shape) for field, t in zip(out._fields, out, strict=True)}
    if args.json:
        print(
            json.dumps(
                {
                    "variant": args.variant,
                    "size": size,
                    "params": c.params,
                    "macs": c.macs,
                    "macs_paper": c.macs_paper,
                    "outputs": shapes,
                }
            )
        )
        return 0
    print(f"variant      {args.variant} @ {size}x{size}, {keypoints} keypoints")
    print(f"params       {c.params / 1e6:.3f} M")
    print(f"MACs (true)  {c.macs / 1e9:.3f} G   conv/deconv multiply-adds")
    print(f"MACs (paper) {c.macs_paper / 1e9:.3f} G   ptflops convention: deconvs at output size, BN + activations")
    for field, shape in shapes.items():
        print(f"{field:12s} {tuple(shape)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from core.output_lock import take
    from core.preprocess import check_input_size
    from models.checkpoint import load_checkpoint
    from models.errors import ModelError
    from models.export import build_metadata, export_onnx
    from models.schemas import get_schema
    from models.wlitepose import build_model

    if args.checkpoint and args.schema:
        raise ModelError("--schema goes with --variant; a checkpoint keeps the schema it was trained on")
    if args.checkpoint:
        model, meta = load_checkpoint(args.checkpoint)
        schema, variant, dataset, trained = get_schema(meta["schema"]), meta["variant"], meta["dataset"], True
    else:
        schema, variant, dataset, trained = get_schema(args.schema or "coco"), args.variant, "none", False
        model = build_model(variant, num_keypoints=schema.num_keypoints)
    size = model.input_size if args.size is None else args.size
    check_input_size(size)  # larger than its limit: the export check's own input took 23 GB and was killed
    out = Path(os.path.expanduser(args.out))
    _check_out(out, args.checkpoint)
    metadata = build_metadata(schema, variant, size, dataset, trained)
    sizes = ((size, size), (size + 64, size + 192))
    with take(out):  # not over a file another run writes (a training exporting its best.onnx there)
        diff = export_onnx(model, out, metadata, check_sizes=sizes, fp16_weights=args.fp16_weights)
    state = "trained" if trained else "UNTRAINED (random weights)"
    weights = "fp16 weights" if args.fp16_weights else "fp32"
    print(
        f"wrote {out}: {variant} @ {size}, {schema.name} keypoints, {state}, {weights}; max |onnx - torch| {diff:.1e}"
    )
    return 0


def _check_out(out: Path, checkpoint: str | None) -> None:
    """Refuse an --out that cannot be written before any export work."""
    from models.errors import ModelError

    if out.is_dir():
        raise ModelError(f"--out {out} is a folder; give the path of the .onnx file to write")
    if out.suffix.lower() != ".onnx":  # a run's last.pt or a video named by a slip would be replaced
        raise ModelError(f"--out {out} is not an .onnx file name; give the path of the .onnx file to write")
    if checkpoint and out.resolve() == Path(os.path.expanduser(checkpoint)).resolve():
        raise ModelError(f"--out {out} would overwrite the checkpoint it reads")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelError(f"cannot create the folder {error.filename} for --out {out} ({error.strerror})") from None
    if not os.access(out.parent, os.W_OK):
        raise ModelError(f"cannot write --out {out}: its folder {out.parent} is not writable")
