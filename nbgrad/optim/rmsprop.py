"""RMSprop: divide the gradient by a running root mean square of its recent values."""

from __future__ import annotations

from nbgrad import backend
from nbgrad.optim.optimizer import Optimizer, add_product_, advance_step, lerp_, nonnegative
from nbgrad.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, with torch's update rule (``eps`` added after the square root).

    .. math::
        g_t &= \pm\nabla_\theta f_t(\theta_{t-1}) + \lambda\theta_{t-1}, \qquad
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \tilde v_t &= v_t - \bar g_t^2 \text{ with } \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t
            \text{ if centered, else } v_t \\
        b_t &= \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \qquad \theta_t = \theta_{t-1} - \gamma b_t

    (without momentum: :math:`\theta_t = \theta_{t-1} - \gamma g_t / (\sqrt{\tilde v_t} + \epsilon)`.)

    Args:
        params: the Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-2).
        alpha: smoothing constant :math:`\alpha` (default 0.99).
        eps: :math:`\epsilon`, added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        momentum: momentum factor :math:`\mu` (default 0).
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing it.

    State (per parameter): ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0) and ``grad_avg`` (centered).

    Example::

        >>> import nbgrad as nb
        >>> w = nb.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = nb.optim.RMSprop([w], lr=0.01)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _option_checks = (
        ("lr", nonnegative, "a learning rate >= 0"),
        ("eps", nonnegative, "eps >= 0"),
        ("momentum", nonnegative, "momentum >= 0"),
        ("weight_decay", nonnegative, "weight_decay >= 0"),
        ("alpha", nonnegative, "alpha >= 0"),
    )

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad, group: dict) -> None:
        state = self.state[param]
        if not state:
            state["step"] = None  # created by advance_step; keeps torch's key order
            state["square_avg"] = self._new_state(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = self._new_state(param)
            if group["centered"]:
                state["grad_avg"] = self._new_state(param)
        advance_step(state)
        grad = self._effective_grad(param, grad, group)
        alpha, momentum, lr = group["alpha"], group["momentum"], group["lr"]
        p = param._data
        xp = backend.array_module(p)
        tmp = self._scratch(p)
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        add_product_(square_avg, grad, grad, 1 - alpha, tmp)
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            lerp_(grad_avg, grad, 1 - alpha, tmp)
            xp.multiply(grad_avg, grad_avg, out=tmp)
            avg = xp.sqrt(xp.subtract(square_avg, tmp, out=tmp), out=tmp)
        else:
            avg = xp.sqrt(square_avg, out=tmp)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += xp.divide(grad, avg, out=avg)
            p += xp.multiply(buf, -lr, out=tmp)
        else:
            # p += -lr * grad / avg, in torch's addcdiv_ order (scale, then divide)
            p += xp.divide(xp.multiply(grad, -lr, out=self._scratch(p, 1)), avg, out=avg)
