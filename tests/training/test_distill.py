import json

import pytest
import torch

from core.errors import WLitePoseError
from main import main
from models.wlitepose import build_model
from training.distill import FeatureHints
from training.teacher import load_teacher
from training.trainer import train


@pytest.fixture(scope="module")
def teacher_path(shared_data):
    return str(shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth")


def test_the_teacher_gives_frozen_hints_at_the_backbone_strides(teacher_path, tmp_path):
    teacher = load_teacher(teacher_path)
    hints = teacher(torch.randn(2, 3, 64, 96))
    assert [tuple(h.shape) for h in hints] == [(2, 24, 16, 24), (2, 32, 8, 12), (2, 96, 4, 6)]
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    source = torch.load(teacher_path, weights_only=True)
    assert torch.equal(teacher.features[13].conv[2][0].weight, source["features.13.conv.2.0.weight"])

    other = tmp_path / "other.pth"
    torch.save(build_model("litepose_xs").state_dict(), other)
    with pytest.raises(WLitePoseError, match="not a MobileNetV2-1.0 state dict"):
        load_teacher(other)


def test_hints_pull_the_backbone_towards_the_teacher_and_only_in_training(teacher_path):
    torch.manual_seed(0)
    student = build_model("litepose_xs", num_keypoints=14)
    hints = FeatureHints(student, teacher_path)
    images = torch.randn(2, 3, 64, 64)
    optimizer = torch.optim.Adam([*student.parameters(), *hints.adapters.parameters()], lr=3e-3)
    losses = []
    for _ in range(10):
        student(images)
        loss = hints.loss(images)
        optimizer.zero_grad()
        loss.backward()
        if not losses:  # the hint reaches the stages it taps and nothing after them
            assert student.stages[3][0].dw[0].weight.grad.abs().sum() > 0
            assert all(p.grad is None for p in student.head_refined.parameters())
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]

    student.eval()(images)  # validation and export forward passes leave nothing behind
    with pytest.raises(RuntimeError, match="training forward pass"):
        hints.loss(images)


def test_a_distilled_run_keeps_its_adapters_beside_the_model_and_resumes_only_with_them(
    tmp_path, tiny_run, teacher_path
):
    out = tmp_path / "run"
    train(tiny_run(out, distill=teacher_path, max_steps=2))
    state = torch.load(out / "last.pt", weights_only=False)
    assert set(state["model"]) == set(build_model("litepose_xs", num_keypoints=14).state_dict())
    assert state["hint_adapters"]["0.1.weight"].shape == (24, 16, 1, 1)
    assert all("distill" in json.loads(line) for line in (out / "log.jsonl").read_text().splitlines())

    train(tiny_run(out, distill=teacher_path, resume=True))
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == 2
    with pytest.raises(WLitePoseError, match="trained with --distill"):
        train(tiny_run(out, epochs=4, resume=True))


def test_bad_distill_options_are_a_clear_error(tmp_path, shared_data, capsys):
    argv = [
        "train",
        "--train-data",
        str(shared_data / "crowdpose_sample" / "test_crowdpose.json"),
        "--out",
        str(tmp_path),
    ]
    assert main([*argv, "--distill", str(tmp_path / "missing.pth")]) == 2
    assert "missing.pth does not exist" in capsys.readouterr().err
    assert main([*argv, "--distill-factor", "0"]) == 2
    assert "--distill-factor must be positive" in capsys.readouterr().err


def test_the_hint_loss_of_a_fresh_student_starts_near_one(teacher_path):
    """Teacher features are standardised and the three hints averaged, so --distill-factor weighs a loss near 1
    (unstandardised features of the TFLite MobileNetV2 have a std of 5 to 8: a loss near 40)."""
    torch.manual_seed(0)
    student = build_model("litepose_xs", num_keypoints=14)
    hints = FeatureHints(student, teacher_path)
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    student(images)
    assert 0.8 < hints.loss(images).item() < 2.0
