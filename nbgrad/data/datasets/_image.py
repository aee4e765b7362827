"""The shared base of the image-classification datasets (digits, MNIST, FashionMNIST)."""

from __future__ import annotations

import numpy as np

from nbgrad.data.dataset import Dataset
from nbgrad.tensor import Tensor

_SPLITS = {True: "Train", False: "Test", None: "All"}


class ImageClassification(Dataset):
    """Grey-scale images kept as integers, served as float32 tensors scaled to [0, 1].

    ``dataset[i]`` is ``(image, label)``: ``image`` a float32 tensor of shape ``(1, H, W)``
    (or ``(H * W,)`` with ``flatten=True``) and ``label`` a Python int, then passed through
    ``transform`` and ``target_transform`` when given. Without transforms a
    :class:`~nbgrad.data.DataLoader` converts a whole batch at once.

    Attributes:
        data: the raw pixels, an integer tensor of shape ``(N, H, W)``.
        targets: the labels, an int64 tensor of shape ``(N,)``.
        classes: the class names.
    """

    classes: list = []

    def _init_arrays(
        self, images: np.ndarray, labels: np.ndarray, scale: float, flatten: bool, transform, target_transform
    ) -> None:
        self._images = np.ascontiguousarray(images)
        self._labels = np.asarray(labels, dtype=np.int64)
        self._scale = np.float32(scale)  # divided, not multiplied by 1/scale: the values of torchvision's ToTensor
        self.flatten = flatten
        self.transform = transform
        self.target_transform = target_transform

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self._images)

    @property
    def targets(self) -> Tensor:
        return Tensor._wrap(self._labels)

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self._labels)

    def _pixels(self, index, flatten: bool) -> np.ndarray:
        """Float32 images in [0, 1] for an int or an index array, with the channel (or flat) layout."""
        images = self._images[index]
        lead = images.shape[:-2]
        shape = lead + ((images.shape[-2] * images.shape[-1],) if flatten else (1,) + images.shape[-2:])
        return (images.astype(np.float32) / self._scale).reshape(shape)

    def __getitem__(self, index: int):
        image, label = Tensor._wrap(self._pixels(index, self.flatten)), int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _fetch_batch(self, indices: np.ndarray):
        if self.transform is not None or self.target_transform is not None:
            return None
        return [Tensor._wrap(self._pixels(indices, self.flatten)), Tensor._wrap(self._labels[indices])]

    def arrays(self, flatten: "bool | None" = None) -> tuple:
        """All of it at once: ``(images, labels)`` tensors, float32 in [0, 1] and int64 (no transforms)."""
        flatten = self.flatten if flatten is None else flatten
        return Tensor._wrap(self._pixels(slice(None), flatten)), Tensor._wrap(self._labels.copy())

    def __repr__(self) -> str:
        h, w = self._images.shape[-2:]
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Split: {_SPLITS[self.train]}",
            f"    Image: {h}x{w}, {len(self.classes)} classes",
        ]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
