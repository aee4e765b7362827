"""Differentiable primitives, by family.

- ``elementwise``: arithmetic and math functions with broadcasting
- ``compare``: comparisons and logical ops (no gradient)
- ``broadcast``: expand/broadcast_to and their adjoint sum_to
- ``reduce``: sum, mean, max, var, logsumexp, cumsum...
- ``shape``: reshape, permute, cat, split, flip, pad...
- ``indexing``: ``x[...]``, ``x[...] = v``, gather, scatter...
- ``inplace``: ``add_``, ``mul_``, ``+=``... with version counters
- ``linalg``: matmul, dot, outer, einsum
- ``convert``: ``to(device|dtype)``, ``clone``, ``float()``...

The fused hot paths of neural networks, each a single graph node with a
hand-written backward (the functional API ``nbgrad.nn.functional`` exposes them):

- ``linear``: linear and bilinear maps
- ``activation``: softmax, log_softmax and the other activations
- ``loss``: cross_entropy, nll_loss, mse_loss and the other losses
- ``conv``, ``pool``, ``interpolate``: convolutions, pooling, resizing
- ``norm``: batch/layer/group/RMS normalisation
- ``dropout``, ``embedding``: dropout, embedding lookup, one_hot
- ``recurrent``: RNN/LSTM/GRU cell steps
- ``attention``: scaled dot-product attention
"""
