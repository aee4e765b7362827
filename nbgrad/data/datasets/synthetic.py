"""Small synthetic datasets for toy classification and regression: moons, spirals, blobs, sine.

Each returns ``(X, y)`` tensors: ``X`` float32, ``y`` int64 class labels (float32 targets
for :func:`make_sine`). ``generator`` picks the random source: ``None`` uses the global
generator (so :func:`nbgrad.manual_seed` makes the data repeat), an int seeds a private
one, a ``numpy.random.Generator`` is used as given.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from nbgrad.data import _rng
from nbgrad.tensor import Tensor


def _count(n_samples, op: str) -> int:
    if not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"{op}: n_samples must be a positive int, got {n_samples!r}")
    return int(n_samples)


def _split_evenly(n: int, k: int) -> list:
    """``n`` items into ``k`` groups whose sizes differ by at most one (larger groups first)."""
    return [n // k + (i < n % k) for i in range(k)]


def _finish(X: np.ndarray, y: np.ndarray, shuffle: bool, gen: np.random.Generator) -> tuple:
    if shuffle:
        order = gen.permutation(len(y))
        X, y = X[order], y[order]
    return Tensor._wrap(np.ascontiguousarray(X, dtype=np.float32)), Tensor._wrap(np.ascontiguousarray(y))


def make_moons(n_samples: int = 100, noise: float = 0.0, shuffle: bool = True, generator=None) -> tuple:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Args:
        n_samples: the number of points (the outer moon gets ``n_samples // 2``).
        noise: the standard deviation of Gaussian noise added to the points.
        shuffle: shuffle the points (otherwise class 0 comes first).
        generator: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``X`` float32 ``(n_samples, 2)``, ``y`` int64 ``(n_samples,)`` in {0, 1}.

    Example::

        >>> from nbgrad.data.datasets import make_moons
        >>> X, y = make_moons(200, noise=0.1, generator=0)
        >>> X.shape, y.shape, y.sum().item()
        (nbgrad.Size([200, 2]), nbgrad.Size([200]), 100)
    """
    n = _count(n_samples, "make_moons")
    gen = _rng.resolve(_rng.as_generator(generator, "make_moons"))
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate(
        [np.stack([np.cos(t_out), np.sin(t_out)], 1), np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)]
    )
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_out, n_in])
    if noise:
        X = X + gen.normal(scale=noise, size=X.shape)
    return _finish(X, y, shuffle, gen)


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, shuffle: bool = True, generator=None
) -> tuple:
    """Interleaved spiral arms, one per class: not linearly separable (the CS231n spiral data).

    Arm ``k`` has radius ``r`` evenly from 0 to 1 and angle ``4 r + 2 pi k / n_classes`` (about
    2/3 of a turn), plus Gaussian noise of standard deviation ``noise`` on the angle.

    Args:
        n_samples: the number of points in all (split evenly across the arms).
        n_classes: the number of arms.
        noise: the standard deviation of the noise on each point's angle (radians).
        shuffle: shuffle the points (otherwise ordered by class).
        generator: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``X`` float32 ``(n_samples, 2)`` in [-1, 1], ``y`` int64 ``(n_samples,)`` in ``0..n_classes-1``.

    Example::

        >>> from nbgrad.data.datasets import make_spirals
        >>> X, y = make_spirals(300, n_classes=3, generator=0)
        >>> X.shape, [int((y == k).sum()) for k in range(3)]
        (nbgrad.Size([300, 2]), [100, 100, 100])
    """
    n = _count(n_samples, "make_spirals")
    if not isinstance(n_classes, numbers.Integral) or n_classes < 1:
        raise ValueError(f"make_spirals: n_classes must be a positive int, got {n_classes!r}")
    gen = _rng.resolve(_rng.as_generator(generator, "make_spirals"))
    xs, ys = [], []
    for k, size in enumerate(_split_evenly(n, n_classes)):
        r = np.linspace(0.0, 1.0, size)
        t = 4.0 * r + 2.0 * np.pi * k / n_classes
        t = t + gen.normal(scale=noise, size=size) if noise else t
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(size, k, dtype=np.int64))
    return _finish(np.concatenate(xs), np.concatenate(ys), shuffle, gen)


def make_blobs(
    n_samples: int = 100,
    n_features: int = 2,
    centers=3,
    cluster_std=1.0,
    center_box: tuple = (-10.0, 10.0),
    shuffle: bool = True,
    generator=None,
) -> tuple:
    """Gaussian blobs around centres, one class per centre (scikit-learn's ``make_blobs``).

    Args:
        n_samples: the number of points in all (split evenly across the centres).
        n_features: the dimension of each point (ignored when ``centers`` gives coordinates).
        centers: the number of centres (drawn uniformly from ``center_box``) or their
            coordinates, shape ``(n_centers, n_features)``.
        cluster_std: the standard deviation of each blob: one float, or one per centre.
        center_box: the bounds of the random centres.
        shuffle: shuffle the points (otherwise ordered by class).
        generator: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``X`` float32 ``(n_samples, n_features)``, ``y`` int64 ``(n_samples,)``.

    Example::

        >>> from nbgrad.data.datasets import make_blobs
        >>> X, y = make_blobs(90, centers=[[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]], cluster_std=0.5, generator=0)
        >>> X.shape, [int((y == k).sum()) for k in range(3)]
        (nbgrad.Size([90, 2]), [30, 30, 30])
    """
    n = _count(n_samples, "make_blobs")
    gen = _rng.resolve(_rng.as_generator(generator, "make_blobs"))
    if isinstance(centers, numbers.Integral):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be a positive int or an array of centres, got {centers}")
        centers = gen.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    else:
        centers = np.asarray(centers.numpy() if isinstance(centers, Tensor) else centers, dtype=np.float64)
        if centers.ndim != 2:
            raise ValueError(f"make_blobs: centers must have shape (n_centers, n_features), got {centers.shape}")
    k = len(centers)
    std = np.asarray(cluster_std, dtype=np.float64)
    if std.ndim == 0:
        std = np.full(k, std)
    elif std.shape != (k,):
        raise ValueError(f"make_blobs: cluster_std must be a float or one value per centre ({k}), got {cluster_std!r}")
    sizes = _split_evenly(n, k)
    X = np.concatenate([c + s * gen.standard_normal((m, centers.shape[1])) for c, s, m in zip(centers, std, sizes)])
    y = np.repeat(np.arange(k, dtype=np.int64), sizes)
    return _finish(X, y, shuffle, gen)


def make_sine(n_samples: int = 100, noise: float = 0.1, x_range: tuple = (-math.pi, math.pi), generator=None) -> tuple:
    """Noisy samples of ``sin(x)`` for regression, ``x`` uniform in ``x_range`` and sorted.

    Args:
        n_samples: the number of points.
        noise: the standard deviation of Gaussian noise added to ``sin(x)``.
        x_range: ``(low, high)`` for ``x``.
        generator: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
        ``x`` float32 ``(n_samples, 1)`` (sorted), ``y`` float32 ``(n_samples, 1)``.

    Example::

        >>> from nbgrad.data.datasets import make_sine
        >>> x, y = make_sine(50, noise=0.0, generator=0)
        >>> x.shape, bool(((y - x.sin()).abs() < 1e-6).all())
        (nbgrad.Size([50, 1]), True)
    """
    n = _count(n_samples, "make_sine")
    low, high = x_range
    if not low < high:
        raise ValueError(f"make_sine: x_range must be (low, high) with low < high, got {x_range!r}")
    gen = _rng.resolve(_rng.as_generator(generator, "make_sine"))
    x = np.sort(gen.uniform(low, high, size=n))
    y = np.sin(x)
    if noise:
        y = y + gen.normal(scale=noise, size=n)
    return Tensor._wrap(x.astype(np.float32)[:, None]), Tensor._wrap(y.astype(np.float32)[:, None])
