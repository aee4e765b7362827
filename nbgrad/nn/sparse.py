"""``Embedding``: a lookup table of learnable vectors."""

from __future__ import annotations

from nbgrad.autograd.grad_mode import no_grad
from nbgrad.nn import init
from nbgrad.nn.linear import empty_parameter
from nbgrad.nn.module import Module
from nbgrad.nn.parameter import Parameter
from nbgrad.ops.embedding import embedding, padding_index
from nbgrad.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index.

    Args:
        num_embeddings: the size of the table.
        embedding_dim: the size of each vector.
        padding_idx: this row is initialised to zeros and gets no gradient (negative counts from the end).
        max_norm: rows looked up with a larger ``norm_type``-norm are rescaled to it (in place).
        norm_type: the p of that norm.
        scale_grad_by_freq: divide gradients by the frequency of each index in the batch.
        sparse: sparse gradients are not supported (``NotImplementedError`` in forward).
        _weight: an initial weight ``(num_embeddings, embedding_dim)`` instead of N(0, 1).
        _freeze: with ``_weight``, do not train it.

    Shape:
        - Input: integer indices, any shape. Output: ``(*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, initialised from N(0, 1).

    Example::

        >>> import nbgrad as nb
        >>> emb = nb.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(nb.tensor([[1, 2], [0, 9]])).shape
        nbgrad.Size([2, 2, 3])
        >>> emb
        Embedding(10, 3, padding_idx=0)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: "int | None" = None,
        max_norm: "float | None" = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: "Tensor | None" = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_index(padding_idx, num_embeddings, "Embedding")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = empty_parameter(num_embeddings, embedding_dim, device=device, dtype=dtype)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: shape of _weight {tuple(_weight.shape)} does not match num_embeddings and "
                    f"embedding_dim ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight.detach(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0
                self.weight._version[0] += 1

    def forward(self, input: Tensor) -> Tensor:
        return embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: "int | None" = None,
        max_norm: "float | None" = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> "Embedding":
        """An Embedding whose weight is ``embeddings`` (2-D), frozen unless ``freeze=False``.

        Example::

            >>> import nbgrad as nb
            >>> emb = nb.nn.Embedding.from_pretrained(nb.tensor([[1.0, 2.0], [3.0, 4.0]]))
            >>> emb(nb.tensor([1]))
            tensor([[3., 4.]])
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError(
                "Embedding.from_pretrained: embeddings must be a 2-D Tensor (num_embeddings, embedding_dim), got "
                f"{type(embeddings).__name__} of shape {tuple(getattr(embeddings, 'shape', ()))}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )
