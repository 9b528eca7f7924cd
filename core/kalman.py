"""Constant-velocity Kalman filters for many keypoints at once.

Every (track, keypoint) has state [p, v] per axis (x and y share one covariance, as they are
measured together). With time step dt:

    x' = F x,            F = [[1, dt], [0, 1]]
    P' = F P F^T + Q,    Q = q * Q_discrete_white_noise(2, dt, 1)   (piecewise white acceleration, variance q)
    update with z (position only, H = [1, 0], noise r):
    S = P00 + r,  K = P[:, 0] / S,  x += K (z - p),  P = (I - K H) P

The covariance is kept as its three distinct entries (p00, p01, p11), each (T, K).

Manoeuvres (a sudden turn or stop) are caught by covariance scaling: when a track's mean
normalised innovation squared, NIS = |z - p|^2 / (2 S), exceeds MEAN_NIS_GATE its covariance is
multiplied by NIS / MEAN_NIS_GATE before the update, so the gain rises until the filter has caught up. A
joint that moves on its own (a wrist swung while the body stands) is caught up by its own NIS beyond
JOINT_NIS_GATE, which the mean over all joints would dilute seventeen-fold.
"""

from __future__ import annotations

import numpy as np
from filterpy.common import Q_discrete_white_noise

# A joint that follows the model has NIS above 6 in 0.25 % of frames (NIS is chi-squared with 2 degrees of
# freedom, halved): one above it is moving on its own. A lower gate (3) follows a swung wrist closer still, but
# also the heatmap-cell jitter of real detections: on vtest.avi and the cctv clip IDF1 fell below the filter's
# without the gate, where 6 keeps it (benchmarks/tracking_quality.py).
JOINT_NIS_GATE = 6.0
# A joint's NIS averages 1 while it follows the model: a track whose joints average half as much again has manoeuvred.
MEAN_NIS_GATE = 1.5
# Q_discrete_white_noise(dim=2, dt, var=1) is [[dt^4/4, dt^3/2], [dt^3/2, dt^2]]: its matrix at dt = 1 times dt^4, dt^3
# and dt^2, entry by entry, gives the very same numbers without the helper's scipy block_diag at every frame (a fifth
# of the tracker's time in a `wlitepose track` run)
Q_AT_ONE_SECOND = Q_discrete_white_noise(dim=2, dt=1.0, var=1.0)


def predict(pos, vel, cov, dt: float, q: np.ndarray) -> None:
    """In place. pos, vel (T, K, 2); cov (3, T, K); q (T,) acceleration variance per track."""
    pos += vel * dt
    p00, p01, p11 = cov
    q00, q01, q11 = Q_AT_ONE_SECOND[0, 0] * dt**4, Q_AT_ONE_SECOND[0, 1] * dt**3, Q_AT_ONE_SECOND[1, 1] * dt**2
    qt = q[:, None]
    new00 = p00 + 2 * dt * p01 + dt * dt * p11 + q00 * qt
    new01 = p01 + dt * p11 + q01 * qt
    new11 = p11 + q11 * qt
    cov[0], cov[1], cov[2] = new00, new01, new11


def update(pos, vel, cov, z: np.ndarray, measured: np.ndarray, r: np.ndarray) -> None:
    """In place for the measured entries. z (T, K, 2); measured (T, K) bool; r (T,) measurement variance."""
    s = cov[0] + r[:, None]
    nis = np.where(measured, ((z - pos) ** 2).sum(-1) / (2 * np.maximum(s, 1e-12)), 0.0)
    mean_nis = nis.sum(1) / np.maximum(measured.sum(1), 1)  # (T,)
    cov *= np.maximum(np.maximum(mean_nis / MEAN_NIS_GATE, 1.0)[:, None], nis / JOINT_NIS_GATE)[None]  # (T, K)
    p00, p01, p11 = cov
    s = p00 + r[:, None]
    k0 = np.where(measured, p00 / np.maximum(s, 1e-12), 0.0)
    k1 = np.where(measured, p01 / np.maximum(s, 1e-12), 0.0)
    innovation = np.where(measured[..., None], z - pos, 0.0)
    pos += k0[..., None] * innovation
    vel += k1[..., None] * innovation
    cov[2] = p11 - k1 * p01
    cov[1] = (1 - k0) * p01
    cov[0] = (1 - k0) * p00
