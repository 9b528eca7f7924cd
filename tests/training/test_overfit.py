import json

import pytest
import torch
from torch.utils.data import default_collate

from core.evaluation import evaluate_model
from core.session import PoseModel
from models.export import build_metadata, export_onnx
from models.schemas import COCO17
from models.wlitepose import build_model
from training.dataset import KeypointDataset, network_batch
from training.pretrained import init_heads
from training.trainer import TrainConfig, compute_losses

SIZE, STEPS = 128, 80  # the loss at 0.02x its first, AP 0.84: past 80 steps the AP falls back (0.71 at 150)


def _recalibrate_batchnorm(model, images):
    """Exact BN statistics of the training batch (the running averages lag a fast-moving overfit)."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    with torch.no_grad():
        model.train()(images)


def _ap(model, path, annotations, images):
    export_onnx(model, path, build_metadata(COCO17, "wlitepose_xs", SIZE, "test", True), check_sizes=((SIZE, SIZE),))
    return evaluate_model(PoseModel(path, threads=1), annotations, images, SIZE)["AP"]


@pytest.fixture
def one_thread():
    """As the trainer does on 2 cores: two torch threads beside another job thrash (~10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_few_images_are_learned_loss_falls_and_ap_rises(tmp_path, shared_data, one_thread):
    source = json.loads((shared_data / "train" / "annotations.json").read_text())
    people = {}
    for ann in source["annotations"]:
        if ann.get("source") == "human" and ann["num_keypoints"] >= 15:
            people.setdefault(ann["image_id"], []).append(ann)
    chosen = [i for i in source["images"] if len(people.get(i["id"], [])) == 1][:4]
    anns = [people[i["id"]][0] for i in chosen]
    annotations = tmp_path / "few.json"
    annotations.write_text(json.dumps({**source, "images": chosen, "annotations": anns}))
    images = shared_data / "train" / "images"

    torch.manual_seed(0)
    model = build_model("wlitepose_xs")
    init_heads(model)
    data = KeypointDataset(annotations, images, COCO17, SIZE)
    samples = [data[i] for i in range(len(data))]
    batch = network_batch(default_collate(samples), torch.device("cpu"))
    config = TrainConfig(str(annotations), str(images), str(tmp_path))
    ap_before = _ap(model.eval(), tmp_path / "m.onnx", annotations, images)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    first = None
    for _ in range(STEPS):
        loss = compute_losses(model, batch, config)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.1 * first
    _recalibrate_batchnorm(model, batch["image"])
    ap_after = _ap(model.eval(), tmp_path / "m.onnx", annotations, images)
    assert ap_after > ap_before + 0.5, (ap_before, ap_after)  # 0.0 -> 0.84 seen
