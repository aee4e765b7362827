"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from nbgrad import backend
from nbgrad.optim.optimizer import Optimizer, nonnegative
from nbgrad.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), with torch's update rule.

    .. math::
        g_t &= \pm\nabla_\theta f_t(\theta_{t-1}) + \lambda \theta_{t-1} \\
        b_t &= \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1) \\
        \theta_t &= \theta_{t-1} - \gamma \, (g_t + \mu b_t \text{ if nesterov else } b_t)

    (with ``momentum=0`` the step is :math:`-\gamma g_t`; ``maximize`` flips the sign of the gradient.)

    Args:
        params: the Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening :math:`\tau` of the momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening=0``).
        maximize: maximize the objective instead of minimizing it.

    State (per parameter): ``momentum_buffer`` when ``momentum != 0``.

    Example::

        >>> import nbgrad as nb
        >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nb.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     opt.step()
        >>> w
        tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    _option_checks = (
        ("lr", nonnegative, "a learning rate >= 0"),
        ("momentum", nonnegative, "momentum >= 0"),
        ("dampening", lambda v: isinstance(v, (int, float)), "a number"),
        ("weight_decay", nonnegative, "weight_decay >= 0"),
    )

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        super()._check_options(options)
        if options.get("nesterov") and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum requires a momentum and zero dampening, got momentum={options['momentum']!r} "
                f"and dampening={options['dampening']!r}"
            )

    def _update(self, param: Tensor, grad, group: dict) -> None:
        grad = self._effective_grad(param, grad, group)
        p = param._data
        xp = backend.array_module(p)
        tmp = self._scratch(p)
        momentum = group["momentum"]
        if momentum != 0:
            state = self.state[param]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor._wrap(grad.copy())
            else:
                b = buf._data
                b *= momentum
                dampening = group["dampening"]
                b += grad if dampening == 0 else xp.multiply(grad, 1 - dampening, out=tmp)
            if group["nesterov"]:
                grad = xp.add(grad, xp.multiply(buf._data, momentum, out=tmp), out=tmp)
            else:
                grad = buf._data
        p += xp.multiply(grad, -group["lr"], out=tmp)
