"""A small PyTorch MLP classifier with training epochs as the budget (plain torch, CPU).

Two hidden ReLU layers of the same width with dropout, trained with AdamW (decoupled
weight decay) on shuffled minibatches of standardised features, cross-entropy loss.
Training is deterministic: the initial weights, the shuffling and the dropout masks come
from generators of its own seeded with ``random_state`` (never torch's global one, which
trials running on other threads share with the caller), and it runs on one thread.
Epochs are nested (no schedule depends on the total), so one run gives the validation
loss after every smaller budget.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from metahpo.presets._trees import MODEL_SEED
from metahpo.space import Float, Int, Space

MLP_SPACE = Space(
    {
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "width": Int(16, 256, log=True),
        "weight_decay": Float(1e-8, 1e-1, log=True),
        "dropout": Float(0.0, 0.5),
        "batch_size": Int(64, 512, log=True),
    }
)


class TorchMLPClassifier:
    """A scikit-learn-style classifier: ``fit(X, y)``, ``predict_proba``, ``predict``.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
        >>> model = TorchMLPClassifier(epochs=3).fit(X, y)
        >>> model.predict_proba(X).shape
        (60, 2)
    """

    def __init__(
        self,
        learning_rate: float = 1e-3,
        width: int = 64,
        weight_decay: float = 1e-4,
        dropout: float = 0.0,
        batch_size: int = 64,
        epochs: int = 10,
        random_state: int = MODEL_SEED,
    ) -> None:
        self.learning_rate = learning_rate
        self.width = width
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.epochs = epochs
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> TorchMLPClassifier:
        """Train for ``epochs`` epochs."""
        for _ in self.fit_epochs(X, y, [self.epochs]):
            pass
        return self

    def fit_epochs(self, X: Any, y: Any, epochs: list[int]) -> Any:
        """Train for ``max(epochs)`` epochs, yielding ``(epoch, self)`` after each of ``epochs``."""
        import torch
        from torch import nn

        from metahpo.presets._mlp_layers import Dropout, linear
        from metahpo.surrogates import torch_threads

        x = np.asarray(X, dtype=np.float64)
        self.classes_, labels = np.unique(np.asarray(y), return_inverse=True)
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0  # a constant column stays at zero instead of becoming NaN
        self.scale_ = scale
        with torch_threads(1):
            # One generator draws the weights and then the dropout masks, in the order
            # torch's global one would after manual_seed(random_state): the same numbers.
            draws = torch.Generator().manual_seed(self.random_state)
            shuffle = torch.Generator().manual_seed(self.random_state)
            x_train = torch.tensor((x - self.mean_) / self.scale_, dtype=torch.float32)
            y_train = torch.tensor(labels, dtype=torch.int64)
            widths = [x_train.shape[1], self.width, self.width, len(self.classes_)]
            layers: list[nn.Module] = []
            for fan_in, fan_out in itertools.pairwise(widths):
                if layers:
                    layers += [nn.ReLU(), Dropout(self.dropout, draws)]
                layers.append(linear(fan_in, fan_out, draws))
            self.model_ = nn.Sequential(*layers)
            optimizer = torch.optim.AdamW(
                self.model_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            criterion = nn.CrossEntropyLoss()
            wanted = set(epochs)
            for epoch in range(1, max(epochs) + 1):
                self.model_.train()
                order = torch.randperm(len(y_train), generator=shuffle)
                for start in range(0, len(order), self.batch_size):
                    index = order[start : start + self.batch_size]
                    optimizer.zero_grad()
                    criterion(self.model_(x_train[index]), y_train[index]).backward()
                    optimizer.step()
                if epoch in wanted:
                    yield epoch, self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        import torch

        x = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        self.model_.eval()
        with torch.no_grad():
            logits = self.model_(torch.tensor(x, dtype=torch.float32))
            return torch.softmax(logits, dim=1).double().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def build_mlp(config: dict[str, Any], budget: int, task_type: str) -> TorchMLPClassifier:
    return TorchMLPClassifier(
        learning_rate=config["learning_rate"],
        width=config["width"],
        weight_decay=config["weight_decay"],
        dropout=config["dropout"],
        batch_size=config["batch_size"],
        epochs=budget,
    )


def staged_mlp(
    model: TorchMLPClassifier, data: Any, budgets: list[int], scoring: str
) -> list[float]:
    by_epoch: dict[int, float] = {}
    for epoch, fitted in model.fit_epochs(data.x_train, data.y_train, budgets):
        proba = fitted.predict_proba(data.x_valid)
        by_epoch[epoch] = data.classification_loss(proba, fitted.classes_, scoring)
    return [by_epoch[b] for b in budgets]
