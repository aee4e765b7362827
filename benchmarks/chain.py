"""A chain of 100 small elementwise ops, forward and backward: the per-node overhead of the engine.

Twenty blocks of ``y = tanh(exp(sin(y * w + b)))`` on a (32, 32) float32 tensor
give 100 graph nodes; ``x``, ``w`` and ``b`` are leaves that require grad, so
``w`` and ``b`` also accumulate 20 gradient contributions each. At this size
the arithmetic is negligible and the time is the framework's bookkeeping.
"""

from __future__ import annotations

import numpy as np

BLOCKS = 20
OPS_PER_BLOCK = 5
N_OPS = BLOCKS * OPS_PER_BLOCK
SHAPE = (32, 32)


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    w = (1.0 + 0.1 * rng.standard_normal(SHAPE)).astype(np.float32)
    b = (0.1 * rng.standard_normal(SHAPE)).astype(np.float32)
    return x, w, b


def _forward(lib, y, w, b):
    for _ in range(BLOCKS):
        y = lib.tanh(lib.exp(lib.sin(y * w + b)))
    return y


def framework_step(lib, to_tensor):
    """``step()`` for nbgrad or torch (the same code: both have the same API); returns ``x.grad``."""
    x, w, b = (to_tensor(a).requires_grad_() for a in inputs())
    seed_grad = to_tensor(np.ones(SHAPE, dtype=np.float32))

    def step():
        x.grad = w.grad = b.grad = None
        _forward(lib, x, w, b).backward(seed_grad)
        return x.grad, w.grad, b.grad

    return step


def numpy_step(xp):
    """``step()`` with NumPy (or CuPy) arrays: forward keeping what backward needs, backward by hand."""
    x, w, b = (xp.asarray(a) for a in inputs())

    def step():
        saved = []
        y = x
        for _ in range(BLOCKS):
            pre = y * w + b
            e = xp.exp(xp.sin(pre))
            t = xp.tanh(e)
            saved.append((y, pre, e, t))
            y = t
        g = xp.ones_like(y)
        dw = xp.zeros_like(w)
        db = xp.zeros_like(b)
        for y_in, pre, e, t in reversed(saved):
            g = g * (1 - t * t) * e * xp.cos(pre)
            db += g
            dw += g * y_in
            g = g * w
        return g, dw, db

    return step
