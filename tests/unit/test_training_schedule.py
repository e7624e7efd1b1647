"""The training budget and learning-rate schedule (no data needed)."""

import math

import pytest

from training.config import TrainConfig
from training.train import lr_factor


def test_the_budget_is_steps_whatever_the_number_of_users():
    cfg = TrainConfig(steps=3000)
    assert cfg.total_steps(900) == cfg.total_steps(90_000) == 3000


def test_min_epochs_raises_the_budget_up_to_its_cap():
    cfg = TrainConfig(steps=1000, min_epochs=2, max_steps=5000, batch_size=100)
    assert cfg.total_steps(10_000) == 1000  # 200 steps make 2 epochs: the floor wins
    assert cfg.total_steps(100_000) == 2000
    assert cfg.total_steps(1_000_000) == 5000


def test_learning_rate_warms_up_then_decays_to_the_final_ratio():
    total, warmup = 1000, 0.05
    factors = [lr_factor(step, total, warmup, 0.01) for step in range(total)]
    assert factors[0] == pytest.approx(1 / 50) and factors[49] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[49:], factors[50:]))
    assert factors[-1] == pytest.approx(0.01, abs=1e-4)
    assert math.isclose(max(factors), 1.0)
