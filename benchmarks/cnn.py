"""One SGD training step of a small CNN on a batch of 64 1x28x28 images, with cross-entropy.

conv(1->16, 3x3, pad 1) - relu - maxpool 2 - conv(16->32, 3x3, pad 1) - relu - maxpool 2 -
flatten - linear(32*7*7 -> 10). Weights use torch's layouts (conv ``(out, in, kH, kW)``, linear
``(out, in)``) so that every implementation starts from the same arrays. The update is a plain
``p -= lr * grad``.

The hand-written NumPy column is the classic im2col recipe with channels-last arrays
(the one the nn issue measured at 2.2x torch), written independently of nbgrad's kernels.
"""

from __future__ import annotations

import numpy as np

BATCH = 64
CHANNELS = (1, 16, 32)
CLASSES = 10
LR = 0.01


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Images, integer labels and [W1, b1, W2, b2, W3, b3] (torch's default init bounds), all float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    params = []
    shapes = [(CHANNELS[1], CHANNELS[0], 3, 3), (CHANNELS[2], CHANNELS[1], 3, 3), (CLASSES, CHANNELS[2] * 7 * 7)]
    for shape in shapes:
        bound = 1.0 / np.sqrt(np.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        params.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return x, y, params


def framework_step(F, to_tensor, no_grad, update):
    """``step()`` for nbgrad or torch (``F`` is its ``nn.functional``); ``update(p, lr)`` does ``p -= lr * p.grad``."""
    x, y, arrays = inputs()
    x, y = to_tensor(x), to_tensor(y)
    params = [to_tensor(a).requires_grad_() for a in arrays]
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        loss = F.cross_entropy(F.linear(h.flatten(1), w3, b3), y)
        loss.backward()
        with no_grad():
            for p in params:
                update(p, LR)
                p.grad = None
        return loss

    return step


def _cols(xp, a, k: int = 3):
    """im2col of a zero-padded (pad 1) channels-last batch (N, H, W, C): rows (n, h, w), columns (kh, kw, c)."""
    n, h, w, c = a.shape
    padded = xp.zeros((n, h + 2, w + 2, c), a.dtype)
    padded[:, 1:-1, 1:-1] = a
    s = padded.strides
    windows = xp.lib.stride_tricks.as_strided(padded, (n, h, w, k, k, c), (s[0], s[1], s[2], s[1], s[2], s[3]))
    return windows.reshape(n * h * w, k * k * c)


def _col2im(xp, dcols, shape, k: int = 3):
    """The adjoint of :func:`_cols`: column gradients added back into the (N, H, W, C) input."""
    n, h, w, c = shape
    dcols = dcols.reshape(n, h, w, k, k, c)
    padded = xp.zeros((n, h + 2, w + 2, c), dcols.dtype)
    for i in range(k):
        for j in range(k):
            padded[:, i : i + h, j : j + w] += dcols[:, :, :, i, j]
    return padded[:, 1:-1, 1:-1]


def _pool(xp, a):
    """2x2 max pool of (N, H, W, C): (output, mask of the winners), the first maximum winning ties."""
    n, h, w, c = a.shape
    v = a.reshape(n, h // 2, 2, w // 2, 2, c)
    out = v.max(axis=(2, 4))
    taken = xp.zeros(out.shape, bool)
    mask = xp.zeros(v.shape, bool)
    for i in range(2):
        for j in range(2):
            hit = (v[:, :, i, :, j] == out) & ~taken
            mask[:, :, i, :, j] = hit
            taken |= hit
    return out, mask


def numpy_step(xp):
    """``step()`` with NumPy (or CuPy): explicit channels-last forward, backward and update."""
    x, y, arrays = inputs()
    x, y = xp.asarray(x).transpose(0, 2, 3, 1), xp.asarray(y)
    params = [xp.asarray(a) for a in arrays]
    rows = xp.arange(BATCH)

    def step():
        w1, b1, w2, b2, w3, b3 = params
        wm1 = w1.transpose(2, 3, 1, 0).reshape(-1, CHANNELS[1])
        wm2 = w2.transpose(2, 3, 1, 0).reshape(-1, CHANNELS[2])
        c1 = _cols(xp, x)
        h1 = (c1 @ wm1 + b1).reshape(BATCH, 28, 28, CHANNELS[1])
        a1 = xp.maximum(h1, 0)
        p1, m1 = _pool(xp, a1)
        c2 = _cols(xp, p1)
        h2 = (c2 @ wm2 + b2).reshape(BATCH, 14, 14, CHANNELS[2])
        a2 = xp.maximum(h2, 0)
        p2, m2 = _pool(xp, a2)
        flat = p2.transpose(0, 3, 1, 2).reshape(BATCH, -1)  # torch's (C, H, W) flattening order
        z = flat @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (xp.log(s[:, 0]) - z[rows, y]).mean()
        dz = e / s
        dz[rows, y] -= 1
        dz /= BATCH
        dflat = dz @ w3
        dp2 = dflat.reshape(BATCH, CHANNELS[2], 7, 7).transpose(0, 2, 3, 1)
        dh2 = (m2 * dp2[:, :, None, :, None]).reshape(a2.shape) * (h2 > 0)
        g2 = dh2.reshape(-1, CHANNELS[2])
        dwm2 = c2.T @ g2
        dp1 = _col2im(xp, g2 @ wm2.T, p1.shape)
        dh1 = (m1 * dp1[:, :, None, :, None]).reshape(a1.shape) * (h1 > 0)
        g1 = dh1.reshape(-1, CHANNELS[1])
        dwm1 = c1.T @ g1
        grads = (
            dwm1.reshape(3, 3, CHANNELS[0], CHANNELS[1]).transpose(3, 2, 0, 1),
            g1.sum(0),
            dwm2.reshape(3, 3, CHANNELS[1], CHANNELS[2]).transpose(3, 2, 0, 1),
            g2.sum(0),
            dz.T @ flat,
            dz.sum(0),
        )
        for p, g in zip(params, grads):
            p -= LR * g
        return loss

    return step
