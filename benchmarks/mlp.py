"""One SGD training step of a 784-512-512-10 ReLU MLP on a batch of 128, with cross-entropy.

Weights are stored (in, out) so that every implementation computes ``x @ W + b``
with the same matrix layouts. The update is a plain ``p -= lr * grad``.
"""

from __future__ import annotations

import numpy as np

BATCH = 128
SIZES = (784, 512, 512, 10)
LR = 0.01


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Images, integer labels and [W1, b1, W2, b2, W3, b3] (Kaiming-uniform-like init), all float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, y, params


def framework_step(lib, cross_entropy, to_tensor, no_grad, update):
    """``step()`` for nbgrad or torch; ``update(p, lr)`` applies ``p -= lr * p.grad`` in place."""
    x, y, arrays = inputs()
    x, y = to_tensor(x), to_tensor(y)
    params = [to_tensor(a).requires_grad_() for a in arrays]
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h = lib.relu(x @ w1 + b1)
        h = lib.relu(h @ w2 + b2)
        loss = cross_entropy(h @ w3 + b3, y)
        loss.backward()
        with no_grad():
            for p in params:
                update(p, LR)
                p.grad = None
        return loss

    return step


def numpy_step(xp):
    """``step()`` with NumPy (or CuPy): explicit forward, backward and update."""
    x, y, arrays = inputs()
    x, y = xp.asarray(x), xp.asarray(y)
    params = [xp.asarray(a) for a in arrays]
    w1, b1, w2, b2, w3, b3 = params
    rows = xp.arange(BATCH)

    def step():
        h1 = x @ w1 + b1
        a1 = xp.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = xp.maximum(h2, 0)
        z = a2 @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (xp.log(s[:, 0]) - z[rows, y]).mean()
        dz = e / s
        dz[rows, y] -= 1
        dz /= BATCH
        dh2 = (dz @ w3.T) * (h2 > 0)
        dh1 = (dh2 @ w2.T) * (h1 > 0)
        grads = (x.T @ dh1, dh1.sum(0), a1.T @ dh2, dh2.sum(0), a2.T @ dz, dz.sum(0))
        for p, g in zip(params, grads):
            p -= LR * g
        return loss

    return step
