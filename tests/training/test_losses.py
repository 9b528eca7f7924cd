import numpy as np
import pytest
import torch

from training.losses import ae_loss, heatmap_mse_loss, heatmap_weighted_loss
from training.targets import TargetConfig, build_targets


def test_weighted_loss_matches_the_formula_on_a_3x3_example():
    pred = torch.tensor([[[[0.2, -0.1, 0.0], [0.5, 0.9, 0.3], [0.0, 0.1, 1.2]]]])
    target = torch.tensor([[[[0.0, 0.0, 0.0], [0.6, 1.0, 0.6], [0.0, 0.0, 0.0]]]])
    mask = torch.ones(1, 3, 3)
    tau = 0.01
    expected = 0.0
    for p, h in zip(pred.flatten().tolist(), target.flatten().tolist(), strict=True):
        ht = h**tau if h > 0 else 0.0
        w = abs(p) * (1 - ht) + abs(1 - p) * ht
        expected += w * (p - h) ** 2
    assert heatmap_weighted_loss(pred, target, mask, tau).item() == pytest.approx(expected / 9, rel=1e-5)


def test_weighted_loss_tends_to_p_on_background_and_one_minus_p_on_keypoints_as_tau_vanishes():
    pred = torch.tensor([[[[0.3, 0.4]]]])
    target = torch.tensor([[[[0.0, 0.05]]]])
    mask = torch.ones(1, 1, 2)
    loss = heatmap_weighted_loss(pred, target, mask, tau=1e-6).item()
    expected = (0.3 * 0.3**2 + (1 - 0.4) * (0.4 - 0.05) ** 2) / 2
    assert loss == pytest.approx(expected, rel=1e-4)


def test_masked_background_does_not_count_and_a_perfect_prediction_costs_nothing():
    background = torch.zeros(2, 3, 4, 4)
    mask = torch.zeros(2, 4, 4)
    assert heatmap_weighted_loss(torch.rand(2, 3, 4, 4), background, mask).abs().sum() == 0
    assert heatmap_mse_loss(torch.rand(2, 3, 4, 4), background, mask).abs().sum() == 0
    target = torch.rand(2, 3, 4, 4)
    assert heatmap_weighted_loss(target, target, torch.ones(2, 4, 4)).abs().sum() < 1e-12


@pytest.mark.parametrize("loss", [heatmap_weighted_loss, heatmap_mse_loss])
def test_a_labelled_joint_under_an_unlabelled_persons_box_still_teaches_its_peak(loss):
    """CrowdPose masks an unlabelled person as their whole box; a labelled knee inside it keeps its Gaussian."""
    keypoints = np.zeros((1, 2, 3), np.float32)
    keypoints[0, 0] = (32, 32, 2)  # joint 0 in the box; joint 1 unlabelled
    valid = np.ones((64, 64), np.uint8)
    valid[4:60, 4:60] = 0  # the unlabelled person's box: cells 1 to 14 at 1/4
    heat4, _, mask4, _, _, _ = build_targets(keypoints, np.ones(1, np.float32), valid, TargetConfig(input_size=64))
    target, mask = torch.from_numpy(heat4)[None], torch.from_numpy(mask4).float()[None]
    assert mask[0, 8, 8] == 0 and mask[0, 1, 8] == 0  # the peak's cell is masked, and 7 cells above it
    pred = torch.full_like(target, 0.1, requires_grad=True)
    loss(pred, target, mask).sum().backward()
    assert pred.grad[0, 0, 8, 8] < 0  # descent raises the prediction toward the peak
    assert pred.grad[0, 0, 8, 11] < 0  # and on the Gaussian's flank, 3 cells off (a target of 0.32)
    assert pred.grad[0, 0, 1, 8] == 0  # the same joint's background in the box, beyond its Gaussian, stays ignored
    assert pred.grad[0, 1, 8, 8] == 0  # as does the other joint's map there
    assert pred.grad[0, 1, 0, 0] > 0  # outside the box background counts as ever


@pytest.mark.parametrize("loss", [heatmap_weighted_loss, heatmap_mse_loss])
def test_a_counted_cell_weighs_the_same_however_much_of_the_sample_is_masked(loss):
    """Summed over the cells that count and divided by all of them, not by those counted: a half-masked sample's
    background costs half a whole one's, so a crowd's masked image does not weigh its few counted cells up."""
    pred, background = torch.full((1, 2, 4, 4), 0.3), torch.zeros(1, 2, 4, 4)
    half = torch.ones(1, 4, 4)
    half[:, 2:] = 0
    assert loss(pred, background, half) == pytest.approx(loss(pred, background, torch.ones(1, 4, 4)) / 2)


def _joints(people_positions, k, hw):
    joints = np.zeros((1, 4, k, 2), np.int64)
    for p, positions in enumerate(people_positions):
        for j, flat in enumerate(positions):
            joints[0, p, j] = (j * hw + flat, 1)
    return torch.from_numpy(joints)


def test_ae_pull_is_zero_for_consistent_tags_and_push_penalises_equal_means():
    k, h, w = 2, 4, 4
    tags = torch.zeros(1, k, h, w)
    tags[0, :, 0, 0] = 1.0  # person A at cell 0 for both joints
    tags[0, :, 3, 3] = 5.0  # person B at cell 15
    pull, push = ae_loss(tags, _joints([[0, 0], [15, 15]], k, h * w))
    assert pull.item() == pytest.approx(0.0)
    assert push.item() < 1e-6  # exp(-16) / 2: means 4 apart barely push
    same = torch.ones(1, k, h, w)
    _, push_same = ae_loss(same, _joints([[0, 0], [15, 15]], k, h * w))
    assert push_same.item() == pytest.approx(0.5)
    _, push_single = ae_loss(torch.ones(1, 1, h, w), _joints([[0], [15]], 1, h * w))
    assert push_single.item() == pytest.approx(0.5)  # people with one labelled joint are pushed apart too


def test_ae_pull_measures_the_spread_of_one_persons_tags():
    tags = torch.zeros(1, 2, 2, 2)
    tags[0, 0, 0, 0], tags[0, 1, 0, 0] = 1.0, 3.0
    pull, push = ae_loss(tags, _joints([[0, 0]], 2, 4))
    assert pull.item() == pytest.approx(1.0)  # mean of (1-2)^2 and (3-2)^2
    assert push.item() == 0.0  # one person: nothing to push


def test_ae_losses_of_a_batch_are_each_samples_own():
    k, h, w = 3, 4, 4
    tags = torch.randn(3, k, h, w, generator=torch.Generator().manual_seed(0))
    joints = torch.cat(
        [
            _joints([], k, h * w),  # nobody
            _joints([[1, 2, 3]], k, h * w),  # one person
            _joints([[0, 5, 9], [15, 14, 13], [6, 6, 6]], k, h * w),  # three
        ]
    )
    joints[2, 1, 2, 1] = 0  # a joint not labelled: left out of its person's mean and spread
    pull, push = ae_loss(tags, joints)
    assert pull[0] == 0 and push[0] == 0 and push[1] == 0
    for b in range(3):
        own_pull, own_push = ae_loss(tags[b : b + 1], joints[b : b + 1])
        assert (pull[b].item(), push[b].item()) == pytest.approx((own_pull.item(), own_push.item()), abs=1e-6)
    flat = tags[2].flatten()
    people = [flat[[0, 16 + 5, 32 + 9]], flat[[15, 16 + 14]], flat[[6, 16 + 6, 32 + 6]]]
    means = torch.stack([v.mean() for v in people])
    expected_pull = torch.stack([((v - v.mean()) ** 2).mean() for v in people]).mean()
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    expected_push = sum(torch.exp(-((means[i] - means[j]) ** 2)) for i, j in pairs) / 6 * 0.5
    assert pull[2].item() == pytest.approx(expected_pull.item(), rel=1e-5)
    assert push[2].item() == pytest.approx(expected_push.item(), rel=1e-5)


def test_an_unlabelled_joints_cell_never_counts_even_when_not_finite():
    tags = torch.zeros(1, 2, 2, 2)
    tags[0, 0, 0, 0] = float("inf")  # flat index 0: where unlabelled joints point
    tags[0, 1, 1, 1] = 2.0
    joints = _joints([[1, 3]], 2, 4)
    joints[0, 0, 0] = torch.tensor([0, 0])  # the first joint is not labelled
    pull, push = ae_loss(tags, joints)
    assert pull.item() == 0.0 and push.item() == 0.0


def test_weighted_loss_never_rewards_overshooting_a_keypoint():
    pred = torch.tensor([[[[1.5, 2.0]]]], requires_grad=True)  # above the Gaussian's peak
    target = torch.tensor([[[[0.9, 1.0]]]])
    loss = heatmap_weighted_loss(pred, target, torch.ones(1, 1, 2))
    loss.sum().backward()
    assert loss.item() > 0 and (pred.grad > 0).all()  # descent lowers the overshoot


def test_weighted_loss_gradient_is_the_gradient_of_the_formula():
    pred = torch.tensor([[[[0.5, 0.2]]]], requires_grad=True)  # background: L = |P| P^2 = P^3
    heatmap_weighted_loss(pred, torch.zeros(1, 1, 1, 2), torch.ones(1, 1, 2)).sum().backward()
    assert pred.grad.flatten().tolist() == pytest.approx([3 * 0.25 / 2, 3 * 0.04 / 2])


def test_mse_loss_is_the_masked_mean_squared_error():
    pred = torch.tensor([[[[0.5, -0.3], [0.0, 2.0]]]])
    target = torch.tensor([[[[0.0, 0.0], [1.0, 2.0]]]])
    mask = torch.tensor([[[1.0, 1.0], [1.0, 0.0]]])
    assert heatmap_mse_loss(pred, target, mask).item() == pytest.approx((0.25 + 0.09 + 1.0) / 4)


def test_the_total_weighs_each_term_by_its_factor_and_each_sample_by_its_weight():
    from models.wlitepose import PoseOutputs
    from training.trainer import TrainConfig, compute_losses

    k, h, w = 2, 4, 4
    tags = torch.arange(2 * k * h * w, dtype=torch.float32).view(2, k, h, w) / 20
    outputs = PoseOutputs(torch.full((2, k, h, w), 0.5), tags, torch.full((2, k, 2 * h, 2 * w), 0.25))
    joints = _joints([[0, 5], [15, 9]], k, h * w).expand(2, -1, -1, -1)
    batch = {
        "image": None,
        "heatmaps_4": torch.zeros(2, k, h, w),
        "heatmaps_2": torch.zeros(2, k, 2 * h, 2 * w),
        "mask_4": torch.ones(2, h, w),
        "mask_2": torch.ones(2, 2 * h, 2 * w),
        "joints": joints,
        "weight": torch.tensor([1.0, 0.0]),  # the second sample's people weigh nothing
    }
    config = TrainConfig("a.json", "images", "out", heatmap_factors=(1.0, 2.0), pull_factor=0.1, push_factor=0.01)
    losses = compute_losses(lambda image: outputs, batch, config)
    pull, push = ae_loss(tags[:1], joints[:1])
    assert losses["heatmap_4"].item() == pytest.approx(0.5**3 / 2)  # |P| (P - 0)^2 on the background, sample 1 only
    assert losses["heatmap_2"].item() == pytest.approx(0.25**3 / 2)
    assert losses["pull"].item() == pytest.approx(pull.item() / 2) and losses["push"].item() == pytest.approx(
        push.item() / 2
    )
    expected = losses["heatmap_4"] + 2 * losses["heatmap_2"] + 0.1 * losses["pull"] + 0.01 * losses["push"]
    assert losses["total"].item() == pytest.approx(expected.item())
    assert pull.item() > 0 and push.item() > 0 and pull.item() != pytest.approx(push.item())


def test_training_weighs_its_heatmap_loss_with_the_papers_tau():
    from models.wlitepose import PoseOutputs
    from training.trainer import TrainConfig, compute_losses

    k, h, w = 1, 2, 2
    outputs = PoseOutputs(
        torch.full((1, k, h, w), 0.25), torch.zeros(1, k, h, w), torch.full((1, k, 2 * h, 2 * w), 0.25)
    )
    batch = {
        "heatmaps_4": torch.full((1, k, h, w), 0.01),  # a Gaussian's tail
        "heatmaps_2": torch.full((1, k, 2 * h, 2 * w), 0.01),
        "mask_4": torch.ones(1, h, w),
        "mask_2": torch.ones(1, 2 * h, 2 * w),
        "joints": torch.zeros(1, 1, k, 2, dtype=torch.long),
        "weight": torch.ones(1),
        "image": None,
    }
    losses = compute_losses(lambda image: outputs, batch, TrainConfig("a.json", "images", "out"))
    h_tau = 0.01**0.01  # tau = 0.01, the paper's
    assert losses["heatmap_4"].item() == pytest.approx((0.25 * (1 - h_tau) + 0.75 * h_tau) * 0.24**2)


def test_the_mse_ablation_trains_on_the_plain_masked_squared_error():
    from models.wlitepose import PoseOutputs
    from training.trainer import TrainConfig, compute_losses

    k, h, w = 1, 2, 2
    outputs = PoseOutputs(
        torch.full((1, k, h, w), 0.25), torch.zeros(1, k, h, w), torch.full((1, k, 2 * h, 2 * w), 0.5)
    )
    batch = {
        "heatmaps_4": torch.tensor([[[[0.01, 0.01], [0.0, 0.0]]]]),
        "heatmaps_2": torch.full((1, k, 2 * h, 2 * w), 0.01),
        "mask_4": torch.tensor([[[1.0, 1.0], [0.0, 0.0]]]),  # half of the cells count: the masked background
        "mask_2": torch.ones(1, 2 * h, 2 * w),
        "joints": torch.zeros(1, 1, k, 2, dtype=torch.long),
        "weight": torch.ones(1),
        "image": None,
    }
    losses = compute_losses(lambda image: outputs, batch, TrainConfig("a.json", "images", "out", loss="mse"))
    assert losses["heatmap_4"].item() == pytest.approx(0.24**2 / 2)  # no |P| or |1 - P| weight: (P - H)^2 only
    assert losses["heatmap_2"].item() == pytest.approx(0.49**2)
