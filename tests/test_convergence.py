"""Models that train for real, on the CPU, in seconds: the layers, losses, optimizers and data work together.

Each test seeds everything, trains briefly and asserts a result that only
learning can produce (accuracy far above chance, a loss far below a baseline).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import nbgrad as nb
from nbgrad import nn
from nbgrad.data import DataLoader, TensorDataset
from nbgrad.data.datasets import load_digits, load_text

pytestmark = pytest.mark.slow


def _accuracy(model, x, y) -> float:
    model.eval()
    with nb.no_grad():
        pred = model(x).argmax(1)
    model.train()
    return float((pred == y).float().mean())


def _train(model, loader, epochs, lr=1e-2):
    opt = nb.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss


def test_mlp_on_digits_reaches_95_percent():
    nb.manual_seed(0)
    x_train, y_train = load_digits("train", flatten=True)
    x_test, y_test = load_digits("test", flatten=True)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    _train(model, loader, epochs=15)
    assert _accuracy(model, x_test, y_test) >= 0.95


@pytest.mark.skipif(not hasattr(nn, "Conv2d") or not hasattr(nn, "MaxPool2d"), reason="conv layers not built yet")
def test_small_cnn_on_digits():
    nb.manual_seed(0)
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    )
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    _train(model, loader, epochs=12)
    assert _accuracy(model, x_test, y_test) >= 0.93


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.head(h)


def test_char_lstm_beats_the_unigram_entropy():
    nb.manual_seed(0)
    text = load_text()[:60_000]
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    counts = Counter(text)
    unigram = -sum(n / len(text) * math.log(n / len(text)) for n in counts.values())  # nats per character
    data = np.array([stoi[c] for c in text], dtype=np.int64)
    seq = 48
    starts = np.random.default_rng(0).integers(0, len(data) - seq - 1, size=(80, 32))
    model = CharLSTM(len(chars))
    opt = nb.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for batch in starts:
        idx = batch[:, None] + np.arange(seq + 1)
        x, y = nb.tensor(data[idx[:, :-1]]), nb.tensor(data[idx[:, 1:]])
        loss = nn.functional.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    final = float(np.mean(losses[-10:]))
    assert final < unigram - 0.6, f"final loss {final:.3f} nats vs unigram entropy {unigram:.3f}"


@pytest.mark.skipif(not hasattr(nn, "TransformerEncoderLayer"), reason="transformer layers not built yet")
def test_tiny_transformer_learns_to_reverse_sequences():
    nb.manual_seed(0)
    vocab, length, d = 8, 6, 32
    rng = np.random.default_rng(0)

    class Reverser(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(nb.randn(length, d) * 0.1)
            layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2)
            self.head = nn.Linear(d, vocab)

        def forward(self, x):
            return self.head(self.encoder(self.embed(x) + self.pos))

    model = Reverser()
    opt = nb.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(300):
        x = rng.integers(0, vocab, size=(32, length))
        logits = model(nb.tensor(x))
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), nb.tensor(x[:, ::-1].copy()).reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = rng.integers(0, vocab, size=(256, length))
    model.eval()
    with nb.no_grad():
        pred = model(nb.tensor(x)).argmax(-1).numpy()
    accuracy = (pred == x[:, ::-1]).mean()
    assert accuracy > 0.95, f"token accuracy {accuracy:.3f}"
