"""Promoted trials continue their parent's training: a PyTorch MLP on digits under Hyperband.

The budget is the number of epochs. Each trial saves its model and optimizer state in
``trial.checkpoint_dir``; a promotion (the same config at a larger budget) loads its
parent's from ``trial.parent_checkpoint_dir`` and trains only the epochs it lacks. The
weights start from a fixed seed and each epoch shuffles with its own seed, so a continued
run ends with exactly the model a fresh run of ``trial.budget`` epochs would give.

    python examples/continuation_pytorch.py            # one Hyperband iteration, 1 to 27 epochs
    python examples/continuation_pytorch.py --out runs  # keep the database and checkpoints
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.nn import functional as F

import metahpo as mh

SPACE = mh.Space(
    {
        "lr": mh.Float(1e-4, 3e-2, log=True),
        "width": mh.Int(16, 256, log=True),
        "weight_decay": mh.Float(1e-6, 1e-2, log=True),
    }
)
BATCH = 64


def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return (
        torch.tensor(scaler.transform(X_train), dtype=torch.float32),
        torch.tensor(scaler.transform(X_valid), dtype=torch.float32),
        torch.tensor(y_train),
        torch.tensor(y_valid),
    )


def make_objective(
    data: tuple[torch.Tensor, ...], epochs_trained: list[int]
) -> Callable[[mh.TrialHandle], float]:
    """The objective; it appends the epochs each trial trained to ``epochs_trained``."""
    X_train, X_valid, y_train, y_valid = data

    def objective(trial: mh.TrialHandle) -> float:
        torch.manual_seed(0)
        width = trial.config["width"]
        model = torch.nn.Sequential(
            torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, 10)
        )
        optimizer = torch.optim.Adam(
            model.parameters(), lr=trial.config["lr"], weight_decay=trial.config["weight_decay"]
        )
        done = 0
        if trial.parent_checkpoint_dir is not None:
            state = torch.load(trial.parent_checkpoint_dir / "state.pt", weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            done = state["epoch"]  # the parent's budget
        for epoch in range(done, int(trial.budget)):
            order = torch.randperm(len(X_train), generator=torch.Generator().manual_seed(epoch))
            for batch in order.split(BATCH):
                optimizer.zero_grad()
                F.cross_entropy(model(X_train[batch]), y_train[batch]).backward()
                optimizer.step()
        epochs_trained.append(int(trial.budget) - done)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
        torch.save({**state, "epoch": int(trial.budget)}, trial.checkpoint_dir / "state.pt")
        with torch.no_grad():
            return F.cross_entropy(model(X_valid), y_valid).item()

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-epochs", type=int, default=27)
    parser.add_argument("--trials", type=int, default=None, help="default: one Hyperband iteration")
    parser.add_argument("--out", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    scheduler = mh.Hyperband(min_budget=1, max_budget=args.max_epochs, eta=3)
    n_trials = args.trials or sum(n for bracket in scheduler.ladder.table() for n, _ in bracket)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        study = mh.create_study(
            name="digits-mlp",
            space=SPACE,
            storage=f"sqlite:///{folder / 'digits.db'}",
            optimizer="random",
            scheduler=scheduler,
            seed=0,
            load_if_exists=True,
        )
        epochs: list[int] = []
        study.optimize(make_objective(load_data(), epochs), n_trials=n_trials, show_progress=False)
        restart = sum(int(t.budget) for t in study.trials[-len(epochs) :])
        best = study.best_trial
        print(
            f"{len(epochs)} trials, {sum(epochs)} epochs trained; restarting every promotion "
            f"would have trained {restart}"
        )
        print(
            f"best validation loss {best.value:.4f} after {best.budget:g} epochs: {dict(best.config)}"
        )
        if args.out is not None:
            print(f"its model: {study.checkpoint_dir / str(best.number) / 'state.pt'}")


if __name__ == "__main__":
    main()
