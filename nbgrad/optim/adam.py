"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay and AMSGrad."""

from __future__ import annotations

import math

from nbgrad import backend
from nbgrad.optim.optimizer import Optimizer, add_product_, advance_step, is_number, lerp_, nonnegative
from nbgrad.tensor import Tensor

__all__ = ["Adam", "AdamW"]


def _betas_ok(betas) -> bool:
    return len(betas) == 2 and all(is_number(b) and 0 <= b < 1 for b in betas)


class Adam(Optimizer):
    r"""Adam, with torch's update rule (bias-corrected moments, ``eps`` added after the square root).

    .. math::
        g_t &= \pm\nabla_\theta f_t(\theta_{t-1}) \;(+\, \lambda\theta_{t-1} \text{ unless decoupled}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1-\beta_1^t} \,
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1-\beta_2^t} + \epsilon}

    where :math:`\hat v_t = v_t`, or :math:`\max(\hat v_{t-1}, v_t)` with ``amsgrad``. With
    ``decoupled_weight_decay`` (:class:`AdamW`) the parameter is first scaled by :math:`1 - \gamma\lambda`.

    Args:
        params: the Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)`, the decay rates of the moment estimates (default (0.9, 0.999)).
        eps: :math:`\epsilon`, added to the denominator for stability (default 1e-8).
        weight_decay: weight decay :math:`\lambda` (default 0).
        amsgrad: use the AMSGrad variant (the maximum of past second moments).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of adding an L2 gradient.

    State (per parameter): ``step``, ``exp_avg``, ``exp_avg_sq`` and ``max_exp_avg_sq`` (amsgrad).

    Example::

        >>> import nbgrad as nb
        >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nb.optim.Adam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _option_checks = (
        ("lr", nonnegative, "a learning rate >= 0"),
        ("eps", nonnegative, "eps >= 0"),
        ("betas", _betas_ok, "two numbers in [0, 1)"),
        ("weight_decay", nonnegative, "weight_decay >= 0"),
    )

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": tuple(betas) if isinstance(betas, list) else betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad, group: dict) -> None:
        state = self.state[param]
        if not state:
            state["step"] = None  # created by advance_step; keeps torch's key order
            state["exp_avg"] = self._new_state(param)
            state["exp_avg_sq"] = self._new_state(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = self._new_state(param)
        step = advance_step(state)
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        p = param._data
        xp = backend.array_module(p)
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * weight_decay
            grad = xp.negative(grad, out=self._scratch(p, 1)) if group["maximize"] else grad
        else:
            grad = self._effective_grad(param, grad, group)
        tmp = self._scratch(p)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        lerp_(exp_avg, grad, 1 - beta1, tmp)
        exp_avg_sq *= beta2
        add_product_(exp_avg_sq, grad, grad, 1 - beta2, tmp)
        if group["amsgrad"]:
            second = state["max_exp_avg_sq"]._data
            xp.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        step_size = lr / (1 - beta1**step)
        denom = xp.sqrt(second, out=tmp)
        denom /= math.sqrt(1 - beta2**step)
        denom += group["eps"]
        # p += -step_size * exp_avg / denom, in torch's addcdiv_ order (scale, then divide); grad is done with
        p += xp.divide(xp.multiply(exp_avg, -step_size, out=self._scratch(p, 1)), denom, out=denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): the weights shrink by ``lr * weight_decay``.

    The same as ``Adam(..., decoupled_weight_decay=True)``, with ``weight_decay`` defaulting to 1e-2.

    Args:
        params: the Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates of the moment estimates (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: decoupled weight decay coefficient (default 1e-2).
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing it.

    Example::

        >>> import nbgrad as nb
        >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nb.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)
