"""The backward engine: an iterative walk of the graph in dependency order.

The walk never recurses, so a 100,000-node chain (a long RNN) runs without
touching Python's recursion limit. Nodes are run once all the gradients
flowing into them have arrived (dependency counting); leaves accumulate into
``.grad`` once all their contributions are summed, so leaf hooks see the total
gradient, as in torch. Between nodes the gradients are raw arrays unless the
backward itself is recorded (``create_graph=True``).
"""

from __future__ import annotations

import sys

import numpy as np

from nbgrad.autograd import anomaly, views
from nbgrad.autograd.function import FREED_MESSAGE, Function
from nbgrad.autograd.grad_mode import STATE

Tensor = None  # bound by nbgrad.tensor


def _count_dependencies(roots):
    """Number of edges pointing at each node or leaf reachable from ``roots``."""
    # The roots start at 0 and count as visited: a root that is also an ancestor of another root
    # (autograd.grad([y, y * 2], x)) must not have its edges counted twice.
    deps = dict.fromkeys(roots, 0)
    stack = list(roots)
    while stack:
        for edge in stack.pop().next_edges:
            if edge is None:
                continue
            target = edge[0]
            if target in deps:
                deps[target] += 1
            else:  # first visit
                deps[target] = 1
                if isinstance(target, Function):
                    stack.append(target)
    return deps


def _add(a, b):
    """Sum of two gradients (either may be None)."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _owned(array) -> bool:
    """True when nothing but the engine refers to the gradient ``array``.

    Then ``.grad`` can take it as is; otherwise it must be copied, so that an
    in-place change of one leaf's ``.grad`` does not show up in another's
    (``a + b`` hands the same gradient array to both).
    """
    return getattr(array, "base", None) is None and sys.getrefcount(array) <= _UNSHARED_REFS


def _refs_through(obj, frames: int) -> int:
    """``sys.getrefcount(obj)`` seen ``frames`` calls down, for an ``obj`` that nothing else holds."""
    return _refs_through(obj, frames - 1) if frames else sys.getrefcount(obj)


# What _owned() sees for an array nothing else holds: _finish_leaf, _accumulate_into_leaf and _owned each
# hold it once, and getrefcount counts its argument (measured, not assumed: interpreters differ).
_UNSHARED_REFS = _refs_through(object(), 2)


def _accumulate_into_leaf(leaf, grad, create_graph) -> None:
    """Add ``grad`` (a Tensor under create_graph, else an array) into ``leaf.grad``."""
    if create_graph:
        if grad.dtype != leaf.dtype:
            grad = grad.to(leaf.dtype)
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return
    if grad.dtype != leaf._data.dtype:
        # Mixed-precision graphs (float32 leaf used with float64 tensors) still give
        # a .grad of the leaf's own dtype, as in torch.
        grad = grad.astype(leaf._data.dtype)
    existing = leaf.grad
    if existing is None:
        leaf.grad = Tensor._wrap(grad if _owned(grad) else grad.copy())
    elif existing.requires_grad:
        leaf.grad = existing + Tensor._wrap(grad)
    elif existing.shape == grad.shape and existing.dtype == grad.dtype:
        existing._data += grad
        existing._version[0] += 1
    else:
        leaf.grad = Tensor._wrap(existing._data + grad)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None, allow_unused=False):
    """Propagate ``root_grads`` from the tensors ``roots`` back through the graph.

    Gradients travel between nodes as raw arrays, unless ``create_graph`` asks
    for the backward to be recorded: then they are Tensors. Only the nodes that
    need Tensors (user Functions, hooks, anomaly mode) see them wrapped.

    Args:
        roots: output tensors (non-leaf, or leaves that require grad).
        root_grads: one gradient Tensor per root.
        retain_graph: keep saved tensors for another backward.
        create_graph: record the backward itself, for higher-order gradients.
        inputs: when given (``autograd.grad``), return the gradients of these
            tensors instead of accumulating into any ``.grad``.
        allow_unused: with ``inputs``, return ``None`` for inputs that the
            outputs do not depend on instead of raising.
    """
    for t in (*roots, *(inputs or ())):
        if views.is_stale(t):  # a view whose base changed in place: its history comes from the base now
            views.refresh(t)
    # Pending gradients, keyed by the node (or leaf) for output 0 and by
    # (node, output_nr) for the other outputs of multi-output nodes.
    grads = {}
    root_nodes = []
    for t, g in zip(roots, root_grads):
        target = t.grad_fn if t.grad_fn is not None else t
        key = target if t._output_nr == 0 else (target, t._output_nr)
        grads[key] = _add(grads.get(key), g if create_graph else g._data)
        if isinstance(target, Function) and target not in root_nodes:
            root_nodes.append(target)

    capture = wanted_nodes = wanted_leaves = None
    if inputs is not None:
        # Non-leaf inputs are captured when their grad_fn is about to run.
        capture = {}
        wanted_nodes = {}
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                wanted_nodes.setdefault(t.grad_fn, []).append((i, t._output_nr))
        wanted_leaves = {t: i for i, t in enumerate(inputs) if t.grad_fn is None}

    deps = _count_dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    prev_enabled = STATE.enabled
    STATE.enabled = create_graph
    check_anomaly = anomaly.STATE.enabled
    # Inf/NaN in gradients (sqrt'(0), log'(0)) are results, as in torch, not warnings;
    # anomaly mode is the tool that reports them.
    errstate = np.errstate(divide="ignore", invalid="ignore", over="ignore")
    errstate.__enter__()
    try:
        # Leaves that are roots themselves (x.backward() on a leaf).
        for target in [k for k in grads if isinstance(k, Tensor)]:
            if deps.get(target, 0) == 0:
                _finish_leaf(target, grads.pop(target), create_graph, capture, wanted_leaves)
        # The plain case (no create_graph, hooks, anomaly mode, nor a gradient
        # that autograd.grad captures here) is inlined: this loop runs once per
        # node of every backward pass.
        plain = not create_graph and not check_anomaly
        freed = FREED_MESSAGE
        while ready:
            node = ready.pop()
            grad_output = grads.pop(node, None)
            if plain and node._plain and (capture is None or node not in wanted_nodes):
                if grad_output is None:
                    grad_inputs = (None,) * len(node.next_edges)
                else:
                    if node._freed:
                        raise RuntimeError(freed.format(name=node.name()))
                    grad_inputs = node._backward_arrays(grad_output)
                    if type(grad_inputs) is not tuple:
                        grad_inputs = (grad_inputs,)
            else:
                grad_outputs = [grad_output] + [grads.pop((node, nr), None) for nr in range(1, node._n_outputs)]
                if create_graph:
                    grad_inputs = _run_node(node, grad_outputs, check_anomaly, capture, wanted_nodes)
                else:  # this node needs Tensors: wrap its gradients for it, and unwrap what it returns
                    grad_outputs = [_as_tensor(g) for g in grad_outputs]
                    grad_inputs = _run_node(node, grad_outputs, check_anomaly, capture, wanted_nodes)
                    grad_inputs = tuple([_as_array(g) for g in grad_inputs])
            if not retain_graph:
                node._release()
            leaves = None
            for edge, g in zip(node.next_edges, grad_inputs):
                if edge is None:
                    continue
                target, nr = edge
                remaining = deps[target] - 1
                deps[target] = remaining
                if g is not None:
                    key = target if nr == 0 else (target, nr)
                    prev = grads.get(key)
                    grads[key] = g if prev is None else prev + g
                if remaining == 0:
                    if isinstance(target, Function):
                        ready.append(target)
                    elif target in grads:
                        leaves = [target] if leaves is None else leaves + [target]
            if leaves is not None:
                # This loop's names let go of the gradients first: then a leaf takes its gradient
                # array as .grad without a copy when nothing else holds it (see _owned).
                grad_output = grad_inputs = g = None
                for leaf in leaves:
                    _finish_leaf(leaf, grads.pop(leaf), create_graph, capture, wanted_leaves)
    finally:
        STATE.enabled = prev_enabled
        errstate.__exit__(None, None, None)

    if inputs is None:
        return None
    result = []
    for i, t in enumerate(inputs):
        g = capture.get(i)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        result.append(g)
    return tuple(result)


def _as_tensor(g):
    return None if g is None else Tensor._wrap(g)


def _as_array(g):
    return None if g is None else g._data


def _run_node(node, grad_outputs, check_anomaly, capture, wanted_nodes):
    """Run one node's hooks and backward on Tensors; return one gradient per input edge."""
    n_edges = len(node.next_edges)
    if all(g is None for g in grad_outputs):
        return (None,) * n_edges
    if node._freed:
        raise RuntimeError(FREED_MESSAGE.format(name=node.name()))
    if node._has_hooks:
        _run_tensor_hooks(node, grad_outputs, capture, wanted_nodes)
    elif wanted_nodes and node in wanted_nodes:
        for i, nr in wanted_nodes[node]:
            capture[i] = grad_outputs[nr]
    if len(grad_outputs) > 1:
        _materialize_zeros(node, grad_outputs)
    grad_inputs = node.backward(node, *grad_outputs)  # a staticmethod: ctx is the node
    if not isinstance(grad_inputs, tuple):
        grad_inputs = (grad_inputs,)
    if len(grad_inputs) != n_edges:
        if len(grad_inputs) > n_edges and all(g is None for g in grad_inputs[n_edges:]):
            grad_inputs = grad_inputs[:n_edges]
        elif len(grad_inputs) < n_edges and node._builtin:  # built-in ops may leave out trailing Nones
            grad_inputs = grad_inputs + (None,) * (n_edges - len(grad_inputs))
        else:
            raise RuntimeError(
                f"{node.name()}: backward returned {len(grad_inputs)} gradient(s) but forward took {n_edges} input(s)"
            )
    if not node._builtin:
        grad_inputs = _check_user_grads(node, grad_inputs)
    if check_anomaly:
        anomaly.check_backward(node, grad_inputs, grad_outputs)
    if node._has_hooks:
        for fn in node.__dict__.get("_post_hooks", ()):
            fn(grad_inputs, tuple(grad_outputs))
    return grad_inputs


def _run_tensor_hooks(node, grad_outputs, capture, wanted_nodes) -> None:
    """Hooks of the node's output tensors, then retain_grad, then autograd.grad's capture."""
    extras = node.__dict__
    for nr, fns in extras.get("_tensor_hooks", {}).items():
        for fn in list(fns):
            if grad_outputs[nr] is not None:
                new = fn(grad_outputs[nr])
                if new is not None:
                    grad_outputs[nr] = new
    for nr, ref in extras.get("_retained", {}).items():
        t = ref()
        if t is not None and grad_outputs[nr] is not None:
            g = grad_outputs[nr]
            t.grad = g if STATE.enabled else Tensor._wrap(g._data)
    if wanted_nodes and node in wanted_nodes:
        for i, nr in wanted_nodes[node]:
            capture[i] = grad_outputs[nr]


def _materialize_zeros(node, grad_outputs) -> None:
    """Replace missing gradients of a multi-output node by zeros (torch's default)."""
    for nr, g in enumerate(grad_outputs):
        if g is None:
            meta = node._output_meta[nr]
            if meta is not None:
                from nbgrad.backend import array_module

                shape, dtype, data = meta
                grad_outputs[nr] = Tensor._wrap(array_module(data).zeros(shape, dtype))


def _check_user_grads(node, grad_inputs):
    """Turn arrays into Tensors and check shapes for user-defined Functions."""
    out = []
    for edge, g in zip(node.next_edges, grad_inputs):
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._wrap(g)
        if edge is not None and g is not None:
            target, nr = edge
            expected = target.shape if not isinstance(target, Function) else None
            if expected is not None and tuple(g.shape) != tuple(expected):
                raise RuntimeError(
                    f"{node.name()}: backward returned a gradient of shape {tuple(g.shape)} for an input of shape "
                    f"{tuple(expected)}"
                )
        out.append(g)
    return tuple(out)


def _finish_leaf(leaf, grad, create_graph, capture, wanted_leaves) -> None:
    """All contributions to a leaf have arrived: run its hooks, then store the sum."""
    if leaf._hooks or capture is not None:
        t = grad if create_graph else Tensor._wrap(grad)
        for fn in list(leaf._hooks or ()):
            new = fn(t)
            if new is not None:
                t = new
        if capture is not None:
            if leaf in wanted_leaves:
                capture[wanted_leaves[leaf]] = t
            return
        grad = t if create_graph else t._data
        del t  # so that _owned() sees the array's true users
    _accumulate_into_leaf(leaf, grad, create_graph)
