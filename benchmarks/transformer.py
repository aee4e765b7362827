"""One Adam training step of a Transformer encoder layer: batch 16, 64 tokens, d_model 128, 4 heads.

``TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0, batch_first=True)``
(post-norm, ReLU), a mean-squared loss against a fixed random target, and an
Adam step with torch's defaults. Every implementation starts from the same
weights, given in torch's state-dict layout (``in_proj_weight (3E, E)``, ...).
"""

from __future__ import annotations

import importlib

import numpy as np

BATCH = 16
TOKENS = 64
D_MODEL = 128
HEADS = 4
FEEDFORWARD = 512
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
LN_EPS = 1e-5
# torch's state_dict() of the layer: names and shapes, in order.
SHAPES = {
    "self_attn.in_proj_weight": (3 * D_MODEL, D_MODEL),
    "self_attn.in_proj_bias": (3 * D_MODEL,),
    "self_attn.out_proj.weight": (D_MODEL, D_MODEL),
    "self_attn.out_proj.bias": (D_MODEL,),
    "linear1.weight": (FEEDFORWARD, D_MODEL),
    "linear1.bias": (FEEDFORWARD,),
    "linear2.weight": (D_MODEL, FEEDFORWARD),
    "linear2.bias": (D_MODEL,),
    "norm1.weight": (D_MODEL,),
    "norm1.bias": (D_MODEL,),
    "norm2.weight": (D_MODEL,),
    "norm2.bias": (D_MODEL,),
}


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Input ``(BATCH, TOKENS, D_MODEL)``, target of the same shape and the parameters by name (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, TOKENS, D_MODEL), dtype=np.float32)
    y = rng.standard_normal((BATCH, TOKENS, D_MODEL), dtype=np.float32)
    params = {}
    for name, shape in SHAPES.items():
        if name.startswith("norm"):  # LayerNorm: weight 1, bias 0, but perturbed so their gradients matter
            base = 1.0 if name.endswith("weight") else 0.0
            params[name] = (base + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            bound = 1.0 / np.sqrt(shape[-1] if len(shape) == 2 else D_MODEL)
            params[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return x, y, params


def framework_step(lib, to_tensor, device: str = "cpu"):
    """``step()`` for nbgrad or torch (``lib``): the layer, ``mse_loss``, backward and ``optim.Adam``."""
    x, y, arrays = inputs()
    x, y = to_tensor(x), to_tensor(y)
    layer = lib.nn.TransformerEncoderLayer(D_MODEL, HEADS, FEEDFORWARD, dropout=0.0, batch_first=True).to(device)
    layer.load_state_dict({name: to_tensor(a) for name, a in arrays.items()})
    # Imported by name: ``nbgrad.optim`` need not be an attribute of the package (torch's is).
    optimizer = importlib.import_module(f"{lib.__name__}.optim").Adam(layer.parameters(), lr=LR, betas=BETAS, eps=EPS)
    mse_loss = lib.nn.functional.mse_loss

    def step():
        loss = mse_loss(layer(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def _layer_norm(xp, h, weight, bias):
    """LayerNorm over the last axis; returns the output and (normalised input, 1/std) for backward."""
    mean = h.mean(axis=-1, keepdims=True)
    centred = h - mean
    rstd = 1.0 / xp.sqrt((centred * centred).mean(axis=-1, keepdims=True) + LN_EPS)
    normed = centred * rstd
    return normed * weight + bias, (normed, rstd)


def _layer_norm_backward(d_out, weight, saved):
    """Gradients w.r.t. the LayerNorm's input, weight and bias."""
    normed, rstd = saved
    d_normed = d_out * weight
    d_in = rstd * (
        d_normed - d_normed.mean(axis=-1, keepdims=True) - normed * (d_normed * normed).mean(axis=-1, keepdims=True)
    )
    return d_in, (d_out * normed).sum(0), d_out.sum(0)


def numpy_step(xp):
    """``step()`` with NumPy (or CuPy): the layer's forward and backward and Adam, by hand."""
    x, y, arrays = inputs()
    x, y = xp.asarray(x).reshape(-1, D_MODEL), xp.asarray(y).reshape(-1, D_MODEL)
    params = [xp.asarray(a) for a in arrays.values()]
    moments = [(xp.zeros_like(p), xp.zeros_like(p)) for p in params]
    count = [0]
    head_dim = D_MODEL // HEADS
    scale = np.float32(1 / np.sqrt(head_dim))

    def heads(a):  # (B*T, E) -> (B, H, T, hd)
        return a.reshape(BATCH, TOKENS, HEADS, head_dim).transpose(0, 2, 1, 3)

    def merge(a):  # (B, H, T, hd) -> (B*T, E)
        return a.transpose(0, 2, 1, 3).reshape(-1, D_MODEL)

    def step():
        w_in, b_in, w_o, b_o, w_1, b_1, w_2, b_2, g_1, c_1, g_2, c_2 = params
        # forward
        qkv = x @ w_in.T + b_in
        q, k, v = (heads(qkv[:, i * D_MODEL : (i + 1) * D_MODEL]) for i in range(3))
        s = (q * scale) @ k.swapaxes(-1, -2)
        s -= s.max(axis=-1, keepdims=True)
        p = xp.exp(s)
        p /= p.sum(axis=-1, keepdims=True)
        attn = merge(p @ v)
        n1, saved1 = _layer_norm(xp, x + attn @ w_o.T + b_o, g_1, c_1)
        f1 = n1 @ w_1.T + b_1
        r = xp.maximum(f1, 0)
        out, saved2 = _layer_norm(xp, n1 + r @ w_2.T + b_2, g_2, c_2)
        diff = out - y
        loss = (diff * diff).mean()
        # backward
        d_h2, d_g2, d_c2 = _layer_norm_backward(diff * np.float32(2 / diff.size), g_2, saved2)
        d_r = (d_h2 @ w_2) * (f1 > 0)
        d_n1 = d_h2 + d_r @ w_1
        d_h1, d_g1, d_c1 = _layer_norm_backward(d_n1, g_1, saved1)
        d_attn = heads(d_h1 @ w_o)
        d_v = p.swapaxes(-1, -2) @ d_attn
        d_p = d_attn @ v.swapaxes(-1, -2)
        d_s = p * (d_p - (d_p * p).sum(axis=-1, keepdims=True)) * scale
        d_qkv = xp.concatenate([merge(d_s @ k), merge(d_s.swapaxes(-1, -2) @ q), merge(d_v)], axis=1)
        grads = (
            d_qkv.T @ x,
            d_qkv.sum(0),
            d_h1.T @ attn,
            d_h1.sum(0),
            d_r.T @ n1,
            d_r.sum(0),
            d_h2.T @ r,
            d_h2.sum(0),
            d_g1,
            d_c1,
            d_g2,
            d_c2,
        )
        count[0] += 1
        adam_update(xp, params, grads, moments, count[0])
        return loss

    return step


def adam_update(xp, params, grads, moments, step: int) -> None:
    """torch's Adam (no weight decay, no amsgrad) on arrays, in place; ``step`` counts from 1."""
    b1, b2 = BETAS
    correction1, correction2 = 1 - b1**step, 1 - b2**step
    for p, grad, (m, v) in zip(params, grads, moments):
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        v += (1 - b2) * grad * grad
        p -= (LR / correction1) * m / (xp.sqrt(v / correction2) + EPS)
