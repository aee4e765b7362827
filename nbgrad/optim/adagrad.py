"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from nbgrad import backend
from nbgrad.optim.optimizer import Optimizer, _step_tensor, advance_step, nonnegative
from nbgrad.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, with torch's update rule (``eps`` added after the square root).

    .. math::
        g_t &= \pm\nabla_\theta f_t(\theta_{t-1}) + \lambda\theta_{t-1}, \qquad
        \tilde\gamma_t = \frac{\gamma}{1 + (t-1)\eta} \\
        s_t &= s_{t-1} + g_t^2, \qquad \theta_t = \theta_{t-1} - \tilde\gamma_t \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
        params: the Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-2).
        lr_decay: learning rate decay :math:`\eta` (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        initial_accumulator_value: the starting value :math:`s_0` of the sums (default 0).
        eps: :math:`\epsilon`, added to the denominator for stability (default 1e-10).
        maximize: maximize the objective instead of minimizing it.

    State (per parameter, created for every parameter when the optimizer is built, as in torch):
    ``step`` and ``sum``. A group's own ``initial_accumulator_value`` is honoured (torch uses the
    constructor's value for every group).

    Example::

        >>> import nbgrad as nb
        >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nb.optim.Adagrad([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _option_checks = (
        ("lr", nonnegative, "a learning rate >= 0"),
        ("lr_decay", nonnegative, "lr_decay >= 0"),
        ("weight_decay", nonnegative, "weight_decay >= 0"),
        ("initial_accumulator_value", nonnegative, "initial_accumulator_value >= 0"),
        ("eps", nonnegative, "eps >= 0"),
    )

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, param: Tensor, group: dict) -> dict:
        state = self.state[param]
        state["step"] = _step_tensor()
        state["sum"] = self._new_state(param, group["initial_accumulator_value"])
        return state

    def _update(self, param: Tensor, grad, group: dict) -> None:
        state = self.state.get(param) or self._init_state(param, group)  # a group added after construction
        step = advance_step(state)
        grad = self._effective_grad(param, grad, group)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        p = param._data
        xp = backend.array_module(p)
        state_sum = state["sum"]._data
        tmp = xp.multiply(grad, grad, out=self._scratch(p))
        state_sum += tmp
        std = xp.sqrt(state_sum, out=tmp)
        std += group["eps"]
        # p += -clr * grad / std, in torch's addcdiv_ order (scale, then divide)
        p += xp.divide(xp.multiply(grad, -clr, out=self._scratch(p, 1)), std, out=std)
