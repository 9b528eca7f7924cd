import json
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from core.peaks import find_peaks, refine_quarter
from main import main
from models import export as export_module
from models.errors import ModelError
from models.export import ExportError, InferenceGraph, build_metadata, export_onnx, store_weights_fp16
from models.schemas import COCO17, CROWDPOSE14
from models.wlitepose import PoseOutputs, build_model
from training.targets import TargetConfig, gaussian_heatmaps


@pytest.fixture(scope="module")
def xs_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("export") / "xs.onnx"
    diff = export_onnx(build_model("wlitepose_xs"), path, build_metadata(COCO17, "wlitepose_xs", 256, "coco", False))
    return path, diff


def test_export_matches_torch_within_tolerance(xs_file):
    _, diff = xs_file
    assert diff <= 1e-4


def test_exported_graph_has_named_dynamic_io_and_aggregated_outputs(xs_file):
    path, _ = xs_file
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    heatmaps, tags = session.run(["heatmaps", "tags"], {"image": np.zeros((1, 3, 192, 320), np.float32)})
    assert heatmaps.shape == (1, 17, 96, 160) and tags.shape == (1, 17, 48, 80)


class _Painted(torch.nn.Module):
    """A network that outputs given 1/4 and 1/2 heatmaps, whatever the image."""

    def __init__(self, heatmaps_4: np.ndarray, heatmaps_2: np.ndarray) -> None:
        super().__init__()
        self.heatmaps_4, self.heatmaps_2 = torch.from_numpy(heatmaps_4)[None], torch.from_numpy(heatmaps_2)[None]

    def forward(self, image: torch.Tensor) -> PoseOutputs:
        return PoseOutputs(self.heatmaps_4, torch.zeros_like(self.heatmaps_4), self.heatmaps_2)


def test_aggregated_heatmaps_peak_on_the_pixel_training_centred_the_joint_on():
    # training's own targets at both resolutions for joints on even pixels (cells of the 1/2 map),
    # two of them between cells of the 1/4 map: the average must peak, refined, exactly there
    size, sigma = 256, TargetConfig(256).sigma
    joints = np.array([[[100.0, 60.0, 2], [102.0, 62.0, 2], [150.0, 90.0, 2], [4.0, 250.0, 2]]])
    painted = _Painted(gaussian_heatmaps(joints, size // 4, 4, sigma), gaussian_heatmaps(joints, size // 2, 2, sigma))
    with torch.no_grad():
        heatmaps, _ = InferenceGraph(painted)(torch.zeros(1, 3, size, size))
    heatmaps = heatmaps[0].numpy()
    joint, x, y, _ = find_peaks(heatmaps, 0.5, 1)
    assert joint.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(refine_quarter(heatmaps, joint, x, y) * 2, joints[0, :, :2])


def test_metadata_round_trips(xs_file):
    path, _ = xs_file
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert json.loads(meta["keypoint_names"]) == list(COCO17.keypoints)
    assert json.loads(meta["flip_map"]) == list(COCO17.flip_map)
    assert json.loads(meta["oks_sigmas"]) == pytest.approx(list(COCO17.sigmas))
    assert [tuple(link) for link in json.loads(meta["skeleton"])] == list(COCO17.skeleton)
    assert meta["trained"] == "false" and meta["variant"] == "wlitepose_xs" and meta["input_size"] == "256"
    assert meta["heatmap_stride"] == "2" and meta["tag_stride"] == "4"
    assert len(json.loads(meta["mean"])) == 3 and len(json.loads(meta["std"])) == 3


def test_export_fails_loudly_and_leaves_no_file_when_outputs_differ(tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "PARITY_TOLERANCE", 0.0)
    out, meta = tmp_path / "bad.onnx", build_metadata(COCO17, "litepose_xs", 64, "coco", False)
    with pytest.raises(ExportError, match="differs"):
        export_onnx(build_model("litepose_xs"), out, meta, check_sizes=((64, 64),))
    assert not out.exists()


def test_a_diverged_model_is_not_exported(tmp_path):
    model = build_model("litepose_xs")
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    out, meta = tmp_path / "nan.onnx", build_metadata(COCO17, "litepose_xs", 64, "coco", False)
    with pytest.raises(ExportError, match="not finite"):
        export_onnx(model, out, meta, check_sizes=((64, 64),))
    assert not out.exists()
    out.write_bytes(b"an earlier, good model")  # a refused export leaves what was there, and no temporary file
    with pytest.raises(ExportError, match="not finite"):
        export_onnx(model, out, meta, check_sizes=((64, 64),))
    assert out.read_bytes() == b"an earlier, good model" and [p.name for p in tmp_path.iterdir()] == ["nan.onnx"]


def test_an_export_to_a_long_file_name_is_written(tmp_path):
    out = tmp_path / ("m" * 245 + ".onnx")  # 251 characters: the file system takes up to 255
    meta = build_metadata(COCO17, "litepose_xs", 64, "coco", False)
    export_onnx(build_model("litepose_xs"), out, meta, check_sizes=((64, 64),))
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_cli_exports_a_crowdpose_variant(tmp_path, capsys):
    out = tmp_path / "cp.onnx"
    argv = ["export", "--variant", "litepose_xs", "--schema", "crowdpose", "--out", str(out), "--size", "64"]
    assert main(argv) == 0
    assert "UNTRAINED" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map["keypoint_names"]) == list(CROWDPOSE14.keypoints)
    assert [o.shape[1] for o in session.get_outputs()] == [14, 14]  # 17 maps under 14 names: track refused the file


def test_cli_export_of_a_crowdpose_checkpoint_names_its_14_keypoints(tmp_path, monkeypatch, capsys):
    from models.checkpoint import model_meta

    checkpoint = tmp_path / "crowd.pt"
    meta = model_meta("litepose_xs", "crowdpose", "crowdpose", {"num_keypoints": 14})
    torch.save({"model": build_model("litepose_xs", num_keypoints=14).state_dict(), "meta": meta}, checkpoint)
    written = {}

    def record_metadata(model, out, metadata, **kwargs):
        written.update(metadata)
        return 0.0

    monkeypatch.setattr(export_module, "export_onnx", record_metadata)
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "crowd.onnx")]) == 0
    assert json.loads(written["keypoint_names"]) == list(CROWDPOSE14.keypoints)  # track refused a file named for 17
    assert "crowdpose keypoints, trained" in capsys.readouterr().out


def test_cli_refuses_a_schema_for_a_checkpoint(tmp_path, capsys, bundled_checkpoint):
    checkpoint = bundled_checkpoint
    argv = ["export", "--checkpoint", str(checkpoint), "--schema", "crowdpose", "--out", str(tmp_path / "x.onnx")]
    assert main(argv) == 2
    assert "--schema goes with --variant" in capsys.readouterr().err and not (tmp_path / "x.onnx").exists()


def test_cli_info_json(capsys):
    assert main(["info", "--variant", "wlitepose_xs", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"variant", "size", "params", "macs", "macs_paper"} <= info.keys()
    assert info["size"] == 256 and 2.07e6 <= info["params"] <= 2.53e6
    assert info["outputs"]["heatmaps_2"] == [1, 17, 128, 128]
    assert main(["info", "--variant", "wlitepose_xs", "--schema", "crowdpose", "--json"]) == 0  # as export and train
    assert json.loads(capsys.readouterr().out)["outputs"]["heatmaps_2"] == [1, 14, 128, 128]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["info", "--variant", "nope"], "unknown variant 'nope'; choose one of litepose_s, litepose_xs, wlitepose_s,"),
        (["info", "--variant", "wlitepose_xs", "--size", "250"], "multiple of 32"),
        (["info", "--variant", "wlitepose_xs", "--size", "0"], "--size must be a positive multiple of 32"),
        (["info", "--variant", "wlitepose_xs", "--size", "-64"], "up to 2048, not -64"),
        (["export", "--variant", "wlitepose_xs", "--size", "4096", "--out", "x.onnx"], "up to 2048, not 4096"),
        (["export", "--variant", "wlitepose_xs", "--size", "0", "--out", "x.onnx"], "must be a positive multiple"),
        (["info", "--variant", "wlitepose_xs", "--keypoints", "0"], "--keypoints must be a count from 1 to 1024"),
        (["info", "--variant", "wlitepose_xs", "--keypoints", "-3"], "--keypoints must be a count from 1 to 1024"),
        (["info", "--variant", "wlitepose_xs", "--keypoints", "1025"], "from 1 to 1024, not 1025"),  # 10^5: all memory
        (["export", "--checkpoint", "missing.pt", "--out", "x.onnx"], "does not exist"),
        (["export", "--checkpoint", "{tmp}", "--out", "{tmp}/x.onnx"], "is a folder, not a checkpoint file"),
        (["export", "--checkpoint", "{tmp}/file.txt", "--out", "x.onnx"], "torch reads no wlitepose model from it"),
        (["export", "--variant", "litepose_xs", "--out", "{tmp}"], "is a folder; give the path of the .onnx file"),
        (["export", "--variant", "litepose_xs", "--out", "{tmp}/file.txt/x.onnx"], "cannot create the folder"),
    ],
)
def test_cli_bad_input_is_one_sentence_and_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("")
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_cli_refuses_an_unknown_schema_while_parsing(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--variant", "litepose_xs", "--schema", "bogus", "--out", "x.onnx"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "invalid choice: 'bogus'" in err.splitlines()[-1] and "Traceback" not in err


@pytest.mark.parametrize(
    "name, words",
    [
        ("ck.onnx", "would overwrite the checkpoint it reads"),  # a checkpoint given a model's name by a slip
        ("ck.pt", "is not an .onnx file name"),  # a run's last.pt was replaced, and its resume lost
    ],
)
def test_cli_export_never_overwrites_its_checkpoint(tmp_path, capsys, bundled_checkpoint, name, words):
    checkpoint = tmp_path / name
    checkpoint.write_bytes(bundled_checkpoint.read_bytes())
    before = checkpoint.read_bytes()
    (tmp_path / "sub").mkdir()
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "sub" / ".." / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert checkpoint.read_bytes() == before


def test_cli_export_writes_only_an_onnx_file(tmp_path, capsys):
    from models.cli import _check_out

    _check_out(tmp_path / "m.ONNX", None)  # the suffix in any case
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"a video")
    assert main(["export", "--variant", "litepose_xs", "--out", str(video)]) == 2
    assert "clip.mp4 is not an .onnx file name" in capsys.readouterr().err and video.read_bytes() == b"a video"


def test_export_never_replaces_a_file_another_run_is_writing(tmp_path, capsys, held_elsewhere):
    (tmp_path / "m.onnx").write_bytes(b"a model being written")
    with held_elsewhere(tmp_path / "m.onnx"):
        assert main(["export", "--variant", "litepose_xs", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "is writing" in capsys.readouterr().err and (tmp_path / "m.onnx").read_bytes() == b"a model being written"


def test_export_that_cannot_write_its_file_says_so_in_one_sentence(tmp_path):
    (tmp_path / "file.txt").write_text("")
    meta = build_metadata(COCO17, "litepose_xs", 64, "coco", False)
    with pytest.raises(ModelError, match="cannot write .*x.onnx"):
        export_onnx(build_model("litepose_xs"), tmp_path / "file.txt" / "x.onnx", meta, check_sizes=((64, 64),))


def test_fp16_weights_halve_the_bundled_model_and_keep_its_heatmaps(tmp_path, capsys, bundled_checkpoint):
    out, fp32 = tmp_path / "fp16.onnx", tmp_path / "fp32.onnx"
    argv = ["export", "--checkpoint", str(bundled_checkpoint), "--out"]
    assert main([*argv, str(fp32)]) == 0
    assert main([*argv, str(out), "--fp16-weights"]) == 0
    assert "fp16 weights" in capsys.readouterr().out
    assert out.stat().st_size < 0.55 * fp32.stat().st_size
    image = np.random.default_rng(0).standard_normal((1, 3, 256, 192)).astype(np.float32)
    outputs = [
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": image})
        for path in (fp32, out)
    ]
    heat32, heat16 = outputs[0][0][0], outputs[1][0][0]
    assert np.abs(heat32 - heat16).max() < 2e-3
    assert (heat32.reshape(17, -1).argmax(1) == heat16.reshape(17, -1).argmax(1)).mean() >= 0.9
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert meta["trained"] == "true" and meta["variant"] == "wlitepose_xs"


@pytest.mark.parametrize("command", [["info", "--variant", "wlitepose_xs"], ["train", "--train-data", "d"]])
def test_without_torch_the_model_tools_say_what_to_install(command, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # what an inference-only install looks like to an import
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs the train extra (torch is not installed)" in err


def test_without_torch_a_benchmark_says_what_to_install_with_exit_2(monkeypatch, capsys):
    """model_latency.py and training_speed.py exited 1 there, where the commands and the scripts' other refusals
    exit 2."""
    from models.errors import exit_unless_train_extra

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setattr(sys, "argv", ["benchmarks/model_latency.py"])
    with pytest.raises(SystemExit) as exit_info:
        exit_unless_train_extra()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("benchmarks/model_latency.py needs the train extra (torch")


def test_a_path_the_console_cannot_show_is_escaped_not_a_crash(tmp_path):
    """Windows' redirected output uses the ANSI code page: the export was written, then print() raised."""
    out = tmp_path / "modèle.onnx"
    entry = Path(__file__).resolve().parents[2] / "main.py"
    argv = [sys.executable, str(entry), "export", "--variant", "litepose_xs", "--size", "64", "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "mod\\xe8le.onnx" in done.stdout and out.is_file()


def _with_weights_beyond_fp16(model):
    """litepose_xs with every 7th weight of a head conv at +-70,000: beyond float16's largest value (65,504)."""
    with torch.no_grad():
        weights = model.head_raw[3].weight.view(-1)[::7]
        weights.copy_(7e4 * (-1.0) ** torch.arange(len(weights)))
    return model


def test_fp16_weights_keep_a_tensor_beyond_the_fp16_range_in_fp32(tmp_path):
    out = tmp_path / "big.onnx"
    meta = build_metadata(COCO17, "litepose_xs", 64, "coco", True)
    export_onnx(
        _with_weights_beyond_fp16(build_model("litepose_xs")), out, meta, check_sizes=((64, 64),), fp16_weights=True
    )
    image = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    heatmaps, tags = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"image": image})
    assert np.isfinite(heatmaps).all() and np.isfinite(tags).all()
    onnx.checker.check_model(onnx.load(out))  # the casts before their users: ONNX Runtime sorts, other tools refuse


def test_weights_stored_as_fp16_already_are_left_as_they_are(tmp_path):
    # benchmarks/compression.py makes an fp16 copy of the --model it is given, which may be such a file
    out = tmp_path / "half.onnx"
    meta = build_metadata(COCO17, "litepose_xs", 64, "coco", True)
    export_onnx(build_model("litepose_xs"), out, meta, check_sizes=((64, 64),), fp16_weights=True)
    proto = onnx.load(out)
    before = proto.SerializeToString()
    store_weights_fp16(proto)
    assert proto.SerializeToString() == before


def test_a_file_whose_outputs_are_not_finite_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "FP16_MAX", float("inf"))  # the large weights become inf: NaN outputs in ONNX
    out = tmp_path / "nan.onnx"
    meta = build_metadata(COCO17, "litepose_xs", 64, "coco", True)
    with pytest.raises(ExportError, match="not finite"):
        export_onnx(
            _with_weights_beyond_fp16(build_model("litepose_xs")), out, meta, check_sizes=((64, 64),), fp16_weights=True
        )
    assert not out.exists()


def test_a_checkpoint_missing_a_layer_is_refused_not_filled_with_new_weights(tmp_path):
    from models.checkpoint import load_checkpoint, model_meta

    state = build_model("litepose_xs").state_dict()
    del state["head_raw.3.bias"]
    path = tmp_path / "partial.pt"
    torch.save({"model": state, "meta": model_meta("litepose_xs", "coco", "custom")}, path)
    with pytest.raises(ModelError, match="weights do not fit the litepose_xs network its metadata names"):
        load_checkpoint(path)


def test_a_checkpoint_of_one_variant_labelled_as_another_says_its_weights_do_not_fit(tmp_path):
    from models.checkpoint import load_checkpoint, model_meta

    path = tmp_path / "relabelled.pt"
    torch.save(
        {"model": build_model("litepose_xs").state_dict(), "meta": model_meta("wlitepose_xs", "coco", "custom")}, path
    )
    with pytest.raises(ModelError, match=r"relabelled.pt's weights do not fit the wlitepose_xs network its metadata"):
        load_checkpoint(path)


def test_cli_info_table_prints_the_figures_of_its_json(capsys):
    argv = ["info", "--variant", "wlitepose_xs", "--size", "64"]
    assert main([*argv, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert f"params       {info['params'] / 1e6:.3f} M" in table
    assert f"MACs (true)  {info['macs'] / 1e9:.3f} G" in table
    assert f"MACs (paper) {info['macs_paper'] / 1e9:.3f} G" in table


def test_cli_info_takes_the_largest_keypoint_count_its_message_allows(capsys):
    assert main(["info", "--variant", "litepose_xs", "--size", "64", "--keypoints", "1024", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"]["heatmaps_2"] == [1, 1024, 32, 32]


def test_a_checkpoint_of_an_unknown_variant_names_the_variant(tmp_path):
    from models.checkpoint import load_checkpoint, model_meta

    path = tmp_path / "newer.pt"
    torch.save({"model": {}, "meta": model_meta("wlitepose_xxl", "coco", "custom")}, path)
    with pytest.raises(ModelError, match="unknown variant 'wlitepose_xxl'"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "meta, words",
    [
        ({"schema": "wholebody", "dataset": "custom"}, "the keypoint schema 'wholebody', which this version"),
        ({"dataset": "custom"}, "metadata names no keypoint schema (one of coco, crowdpose)"),
        ({"schema": "coco"}, "names no dataset"),
    ],
)
def test_cli_export_of_a_checkpoint_with_metadata_it_does_not_know_is_one_sentence(tmp_path, capsys, meta, words):
    checkpoint = tmp_path / "newer.pt"
    state = build_model("litepose_xs").state_dict()
    torch.save({"model": state, "meta": {"variant": "litepose_xs", "overrides": {}, **meta}}, checkpoint)
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "x.onnx")]) == 2  # was a KeyError
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err and not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("name, hinted", [("mobilenet_v2.pth", True), ("last.pt", False)])
def test_only_a_pth_file_given_as_a_checkpoint_is_pointed_to_init_imagenet(tmp_path, name, hinted):
    from models.checkpoint import load_checkpoint

    path = tmp_path / name
    path.write_bytes(b"not a torch file")
    with pytest.raises(ModelError) as error:
        load_checkpoint(path)
    assert ("--init as imagenet:PATH" in str(error.value)) == hinted


def test_a_pickle_torch_did_not_write_is_refused_in_our_sentence_alone(tmp_path, capsys, recwarn):
    """torch's UserWarning of pickle protocol 4 (a file pickle.dump wrote) came before the refusal."""
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps({"model": {}, "meta": [1, 2]}, protocol=4))
    assert main(["export", "--checkpoint", str(path), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "is not a wlitepose checkpoint" in capsys.readouterr().err and not recwarn.list


def test_cli_export_defaults_to_the_variants_own_input_size(tmp_path, monkeypatch, capsys):
    written = {}

    def record_metadata(model, out, metadata, **kwargs):
        written.update(metadata)
        return 0.0

    monkeypatch.setattr(export_module, "export_onnx", record_metadata)  # the size is decided before the export
    assert main(["export", "--variant", "wlitepose_s", "--out", str(tmp_path / "s.onnx")]) == 0
    assert written["input_size"] == "448" and "wlitepose_s @ 448" in capsys.readouterr().out


@pytest.mark.parametrize("flag, words", [([], "trained, fp32;"), (["--fp16-weights"], "trained, fp16 weights;")])
def test_cli_export_says_how_it_stored_the_weights(tmp_path, monkeypatch, capsys, bundled_checkpoint, flag, words):
    monkeypatch.setattr(export_module, "export_onnx", lambda *args, **kwargs: 0.0)
    assert main(["export", "--checkpoint", str(bundled_checkpoint), "--out", str(tmp_path / "m.onnx"), *flag]) == 0
    assert words in capsys.readouterr().out


def test_a_stop_signal_while_the_file_is_written_leaves_none_and_is_one_line(tmp_path, signal_on_call, capsys):
    """export and info died by SIGTERM's or SIGHUP's default action, without a word; the model file is written
    whole or not at all."""
    from core.sinks import base
    from models import complexity

    signal_on_call(base, "_replace", signal.SIGTERM)  # its bytes written beside it, before they replace --out
    out = tmp_path / "m.onnx"
    assert main(["export", "--variant", "litepose_xs", "--size", "64", "--out", str(out)]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "wlitepose: interrupted\n" and list(tmp_path.iterdir()) == []
    signal_on_call(complexity, "measure", signal.SIGHUP)
    assert main(["info", "--variant", "litepose_xs"]) == 128 + signal.SIGHUP
    assert capsys.readouterr() == ("", "wlitepose: interrupted\n")
