"""One Adam training step of a character-level LSTM: batch 32, 64 steps, hidden 256, vocabulary 65.

Inputs are one-hot rows (65 features) made once, outside the step; the model
is a 1-layer ``LSTM(65, 256)`` and a ``Linear(256, 65)`` read-out, with the
cross-entropy averaged over all 64 x 32 predictions. Every implementation
starts from the same weights (torch's parameter layout: ``W_ih (4H, V)``,
``W_hh (4H, H)``, gates i, f, g, o) and takes an Adam step with torch's defaults.
"""

from __future__ import annotations

import importlib

import numpy as np

BATCH = 32
STEPS = 64
HIDDEN = 256
VOCAB = 65
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
# Parameter order of every implementation: torch's named_parameters() of (lstm, head).
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight", "bias")


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """One-hot inputs ``(STEPS, BATCH, VOCAB)``, next-character targets ``(STEPS, BATCH)`` and the parameters."""
    rng = np.random.default_rng(seed)
    text = rng.integers(0, VOCAB, (STEPS + 1, BATCH))
    x = np.eye(VOCAB, dtype=np.float32)[text[:-1]]
    bound = 1.0 / np.sqrt(HIDDEN)
    shapes = ((4 * HIDDEN, VOCAB), (4 * HIDDEN, HIDDEN), (4 * HIDDEN,), (4 * HIDDEN,), (VOCAB, HIDDEN), (VOCAB,))
    params = [rng.uniform(-bound, bound, shape).astype(np.float32) for shape in shapes]
    return x, text[1:], params


def framework_step(lib, to_tensor, device: str = "cpu"):
    """``step()`` for nbgrad or torch (``lib``): forward, cross-entropy, backward and ``optim.Adam``."""
    x, y, arrays = inputs()
    x, y = to_tensor(x), to_tensor(y).reshape(-1)
    lstm = lib.nn.LSTM(VOCAB, HIDDEN).to(device)
    head = lib.nn.Linear(HIDDEN, VOCAB).to(device)
    lstm.load_state_dict({name: to_tensor(a) for name, a in zip(NAMES[:4], arrays[:4])})
    head.load_state_dict({name: to_tensor(a) for name, a in zip(NAMES[4:], arrays[4:])})
    params = [*lstm.parameters(), *head.parameters()]
    # Imported by name: ``nbgrad.optim`` need not be an attribute of the package (torch's is).
    optimizer = importlib.import_module(f"{lib.__name__}.optim").Adam(params, lr=LR, betas=BETAS, eps=EPS)
    cross_entropy = lib.nn.functional.cross_entropy

    def step():
        out, _ = lstm(x)
        loss = cross_entropy(head(out).reshape(-1, VOCAB), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def _sigmoid(a):
    return 0.5 * np.tanh(0.5 * a) + 0.5


def numpy_step(xp):
    """``step()`` with NumPy (or CuPy): the LSTM forward, backpropagation through time and Adam, by hand."""
    x, y, arrays = inputs()
    x, y = xp.asarray(x), xp.asarray(y).reshape(-1)
    params = [xp.asarray(a) for a in arrays]
    moments = [(xp.zeros_like(p), xp.zeros_like(p)) for p in params]
    rows = xp.arange(STEPS * BATCH)
    count = [0]
    n = HIDDEN

    def step():
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = params
        xw = x @ w_ih.T + (b_ih + b_hh)
        w_hh_t = xp.ascontiguousarray(w_hh.T)
        h, c = xp.zeros((BATCH, n), xp.float32), xp.zeros((BATCH, n), xp.float32)
        hs, saved = xp.empty((STEPS + 1, BATCH, n), xp.float32), []
        hs[0] = h
        for t in range(STEPS):
            a = hs[t] @ w_hh_t
            a += xw[t]
            i, f, o = _sigmoid(a[:, :n]), _sigmoid(a[:, n : 2 * n]), _sigmoid(a[:, 3 * n :])
            g = xp.tanh(a[:, 2 * n : 3 * n])
            c_prev, c = c, f * c + i * g
            tc = xp.tanh(c)
            hs[t + 1] = o * tc
            saved.append((c_prev, i, f, g, o, tc))
        out = hs[1:].reshape(-1, n)
        z = out @ w_out.T + b_out
        z = z - z.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (xp.log(s[:, 0]) - z[rows, y]).mean()
        dz = e / s
        dz[rows, y] -= 1
        dz /= STEPS * BATCH
        d_out = (dz @ w_out).reshape(STEPS, BATCH, n)
        d_gates = xp.empty_like(xw)
        dh, dc = xp.zeros((BATCH, n), xp.float32), xp.zeros((BATCH, n), xp.float32)
        for t in range(STEPS - 1, -1, -1):
            c_prev, i, f, g, o, tc = saved[t]
            dh = dh + d_out[t]
            dc = dc + dh * o * (1 - tc * tc)
            d_gates[t] = xp.concatenate(
                [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1
            )
            dc = dc * f
            dh = d_gates[t] @ w_hh
        dg = d_gates.reshape(-1, 4 * n)
        db = dg.sum(0)
        grads = (dg.T @ x.reshape(-1, VOCAB), dg.T @ hs[:-1].reshape(-1, n), db, db, dz.T @ out, dz.sum(0))
        count[0] += 1
        b1, b2 = BETAS
        correction1, correction2 = 1 - b1 ** count[0], 1 - b2 ** count[0]
        for p, grad, (m, v) in zip(params, grads, moments):
            m *= b1
            m += (1 - b1) * grad
            v *= b2
            v += (1 - b2) * grad * grad
            p -= (LR / correction1) * m / (xp.sqrt(v / correction2) + EPS)
        return loss

    return step
