"""The shared training loop: steps, time budget, validation schedule, best-weights callback."""

from __future__ import annotations

import torch

from soundstage.models.training import train_loop


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1
    model = torch.nn.Linear(4, 1)
    optim = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: 1.0)

    def batches():
        g = torch.Generator().manual_seed(seed)
        while True:
            rows = torch.randint(0, 256, (32,), generator=g)
            loss = ((model(x[rows])[:, 0] - y[rows]) ** 2).mean()
            yield loss, {"train_loss": loss.item()}

    def validate():
        with torch.no_grad():
            v = float(((model(x)[:, 0] - y) ** 2).mean())
        return v, {"val_loss": v}

    return model, optim, sched, batches(), validate


def test_loss_falls_and_the_best_weights_are_reported_when_they_improve():
    model, optim, sched, batches, validate = _setup()
    first = validate()[0]
    saved = []
    best = train_loop(model, optim, sched, batches, steps=60, minutes=5, val_every=20, validate=validate,
                      on_best=lambda step, minutes, history, score: saved.append((step, score, len(history))))
    steps = [s for s, _, _ in saved]
    assert steps[0] == 20 and steps == sorted(steps) and steps[-1] <= 60
    scores = [v for _, v, _ in saved]
    assert all(b < a for a, b in zip(scores, scores[1:]))  # called only on improvement
    assert best == scores[-1] < 0.1 * first
    assert sched.last_epoch == 60  # one schedule step per optimizer step


def test_history_has_train_and_validation_numbers_at_each_check():
    model, optim, sched, batches, validate = _setup(1)
    seen = {}
    train_loop(model, optim, sched, batches, steps=25, minutes=5, val_every=10, validate=validate,
               on_best=lambda step, minutes, history, score: seen.update(history=list(history)))
    history = seen["history"]
    assert [h["step"] for h in history][:2] == [10, 20]
    assert set(history[0]) == {"step", "minutes", "train_loss", "val_loss"}


def test_an_exhausted_time_budget_runs_no_step():
    model, optim, sched, batches, validate = _setup()
    before = [p.clone() for p in model.parameters()]
    best = train_loop(model, optim, sched, batches, steps=10, minutes=0.0, val_every=5, validate=validate,
                      on_best=lambda *a: None)
    assert best == float("inf")
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
