"""Losses: the paper's heatmap weighted loss, plain MSE (for ablation) and the AE pull/push loss.

Shapes: B batch, K keypoints, H x W heatmap size, P people (max_people).
"""

from __future__ import annotations

import torch


def heatmap_weighted_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, tau: float = 0.01):
    """L = W * (P - H)^2 with W = |P| (1 - H^tau) + |1 - P| H^tau, masked; per sample, shape (B,).

    H^tau is 0 on the background (H = 0) and close to 1 wherever the Gaussian is non-zero (it
    tends to the indicator of the Gaussian's support as tau -> 0). So background pixels are
    weighted by how much the prediction fires (|P|) and keypoint pixels by how far it stays
    below 1 (|1 - P|): the loss focuses on false peaks and missed keypoints.
    pred, target: (B, K, H, W); mask: (B, H, W), 1 where the loss counts.
    """
    h_tau = target.clamp(min=0).pow(tau)
    weight = pred.abs() * (1 - h_tau) + (1 - pred).abs() * h_tau
    return (weight * (pred - target) ** 2 * mask[:, None]).mean(dim=(1, 2, 3))


def heatmap_mse_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean squared error per sample (B,): the baseline the weighted loss is compared with."""
    return ((pred - target) ** 2 * mask[:, None]).mean(dim=(1, 2, 3))


def ae_loss(tags: torch.Tensor, joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Associative-embedding pull and push losses per sample, each (B,).

    tags: (B, K, H, W) at 1/4; joints: (B, P, K, 2) with a flat index into K*H*W and a visible flag.
    pull = mean over people of the variance of their joints' tags around the person's mean tag;
    push = mean over pairs of people of exp(-(m_i - m_j)^2), halved (HigherHRNet's "exp" form).
    """
    flat = tags.flatten(1)  # (B, K*H*W)
    pulls, pushes = [], []
    for b in range(flat.shape[0]):
        index, visible = joints[b, ..., 0], joints[b, ..., 1].float()  # (P, K)
        counts = visible.sum(dim=1)
        present = counts > 0
        if not present.any():
            zero = flat[b].sum() * 0
            pulls.append(zero)
            pushes.append(zero)
            continue
        values = flat[b][index[present]]  # (N, K)
        vis, n = visible[present], counts[present]
        means = (values * vis).sum(dim=1) / n  # (N,)
        pulls.append((((values - means[:, None]) ** 2 * vis).sum(dim=1) / n).mean())
        people = means.shape[0]
        if people < 2:
            pushes.append(flat[b].sum() * 0)
            continue
        diff = means[:, None] - means[None, :]
        pushes.append((torch.exp(-(diff**2)).sum() - people) / (people * (people - 1)) * 0.5)
    return torch.stack(pulls), torch.stack(pushes)
