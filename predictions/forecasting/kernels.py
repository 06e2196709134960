"""Spatial kernels on the grid and their FFT convolution with count fields."""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve


def _offsets(radius_cells: int) -> np.ndarray:
    r = np.arange(-radius_cells, radius_cells + 1, dtype=float)
    return np.hypot(r[None, :], r[:, None])


def gaussian_kernel(sigma_m: float, cell_size: float, truncate: float = 3.0) -> np.ndarray:
    """Normalised 2-D Gaussian with standard deviation ``sigma_m`` metres, in cell units."""
    sigma = max(float(sigma_m) / cell_size, 1e-6)
    radius = max(int(np.ceil(truncate * sigma)), 0)
    k = np.exp(-0.5 * (_offsets(radius) / sigma) ** 2)
    return k / k.sum()


def inverse_distance_kernel(bandwidth_m: float, cell_size: float) -> np.ndarray:
    """Bowers et al. (2004) spatial weight ``1 / (1 + d)`` (d in cells) for ``d <= bandwidth``."""
    radius = int(np.floor(float(bandwidth_m) / cell_size))
    d = _offsets(radius)
    return np.where(d * cell_size <= bandwidth_m + 1e-9, 1.0 / (1.0 + d), 0.0)


def convolve(field: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """FFT 'same'-size convolution over the last two axes (a 2-D field or a stack of them).

    Inputs are non-negative counts, so FFT round-off (tiny values, negatives) is set to zero;
    this keeps empty areas exactly tied at 0.
    """
    if kernel.shape == (1, 1):
        return field * kernel[0, 0]
    k = kernel.reshape((1,) * (field.ndim - 2) + kernel.shape)
    out = fftconvolve(field, k, mode="same", axes=(-2, -1))
    out = np.asarray(out, np.float64)
    out[out < 1e-10 * max(float(out.max(initial=0.0)), 1e-300)] = 0.0
    return out
