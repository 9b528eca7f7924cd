"""Losses: the paper's heatmap weighted loss, plain MSE (for ablation) and the AE pull/push loss.

Shapes: B batch, K keypoints, H x W heatmap size, P people (max_people).
"""

from __future__ import annotations

import torch


def counted_cells(target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Where the heatmap loss counts, per channel (B, K, H, W): the mask (B, H, W) and a labelled joint's Gaussian.

    The mask leaves out unlabelled people's regions (a box, in a CrowdPose crowd), which cover labelled people's
    joints too: a joint's own target, positive only on its Gaussian (cut at 3 sigma, exactly 0 beyond), still
    teaches its peak there, while that channel's background in the region and other channels stay ignored.
    Made here from the targets, so the loader ships nothing more.
    """
    return torch.where(target > 0, 1.0, mask[:, None])


def heatmap_weighted_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, tau: float = 0.01):
    """L = W * (P - H)^2 with W = |P| (1 - H^tau) + |1 - P| H^tau, over counted_cells; per sample, shape (B,).

    H^tau is 0 on the background (H = 0) and close to 1 wherever the Gaussian is non-zero (it
    tends to the indicator of the Gaussian's support as tau -> 0). So background pixels are
    weighted by how much the prediction fires (|P|) and keypoint pixels by how far it stays
    below 1 (|1 - P|): the loss focuses on false peaks and missed keypoints.
    pred, target: (B, K, H, W); mask: (B, H, W), 1 where the loss counts. Summed over the counted cells and
    divided by all K * H * W: a counted cell weighs the same in every sample, however much a mask leaves out.
    """
    h_tau = target.clamp(min=0).pow(tau)
    weight = pred.abs() * (1 - h_tau) + (1 - pred).abs() * h_tau
    return (weight * (pred - target) ** 2 * counted_cells(target, mask)).mean(dim=(1, 2, 3))


def heatmap_mse_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error over counted_cells per sample (B,), divided by all cells as the weighted loss is: the
    baseline the weighted loss is compared with."""
    return ((pred - target) ** 2 * counted_cells(target, mask)).mean(dim=(1, 2, 3))


def ae_loss(tags: torch.Tensor, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Associative-embedding pull and push losses per sample, each (B,).

    tags: (B, K, H, W) at 1/4; joints: (B, P, K, 2) with a flat index into K*H*W and a visible flag.
    pull = mean over people of the variance of their joints' tags around the person's mean tag;
    push = mean over pairs of people of exp(-(m_i - m_j)^2), halved (HigherHRNet's "exp" form).
    The whole batch at once (one gather, no per-sample loop or host sync: a GPU step stays queued).
    """
    batch, people, k = joints.shape[:3]
    flat = tags.flatten(1)  # (B, K*H*W)
    index = joints[..., 0].reshape(batch, people * k).clamp(0, flat.shape[1] - 1)
    visible = joints[..., 1].to(flat.dtype)  # (B, P, K)
    values = flat.gather(1, index).view(batch, people, k)
    values = torch.where(visible > 0, values, 0.0)  # an unlabelled joint's cell never counts, not even an inf
    counts = visible.sum(dim=2)  # labelled joints per person, (B, P)
    present = (counts > 0).to(flat.dtype)
    n = counts.clamp(min=1)
    means = (values * visible).sum(dim=2) / n  # (B, P)
    spread = ((values - means[..., None]) ** 2 * visible).sum(dim=2) / n
    persons = present.sum(dim=1)  # (B,)
    pull = (spread * present).sum(dim=1) / persons.clamp(min=1)
    pairs = present[:, :, None] * present[:, None, :] * (1 - torch.eye(people, dtype=flat.dtype, device=flat.device))
    close = torch.exp(-((means[:, :, None] - means[:, None, :]) ** 2))
    push = (close * pairs).sum(dim=(1, 2)) / (persons * (persons - 1)).clamp(min=1) * 0.5
    return pull, push
