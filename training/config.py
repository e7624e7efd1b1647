"""The autoencoder's training settings: every default in one place. Torch-free, so the command
line can show the defaults without loading torch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TrainConfig:
    latent_dim: int = 64
    hidden: list[int] = field(default_factory=lambda: [256])  # wider and deeper were no better (docs/representation-quality.md)
    steps: int = 1500  # optimizer steps, whatever the number of users; more were no better
    min_epochs: float = 0.0  # with more users than steps x batch_size / min_epochs, train longer (0: never)
    max_steps: int = 1500  # the cap min_epochs may raise the budget to
    batch_size: int = 256
    lr: float = 2e-3
    warmup_fraction: float = 0.05  # linear warm-up, then cosine decay to lr * final_lr_ratio
    final_lr_ratio: float = 0.01
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    eval_every: int = 100  # steps between validation losses (the loss curve)
    keep_best: bool = False  # return the weights of the best validation point instead of the last
    mask_prob: float = 0.5  # chance a training row has one masking unit dropped
    new_user_prob: float = 0.15  # chance it gets the new-user pattern instead
    noise_std: float = 0.1  # Gaussian noise on standardised inputs
    group_balance: float = 0.5  # feature loss weight = group_dim ** -group_balance
    min_std: float = 1e-6  # standardisation divides by max(std, min_std); constant columns pass through
    normalise: bool = True  # unit-length representation (cosine = dot product)
    align_weight: float = 1.0  # when aligning to a parent: weight of the squared distance to its embeddings
    sample: int | None = 200_000  # train on at most this many users
    seed: int = 0
    threads: int = 1  # more torch threads than free cores slow training down many times over
    parity_tolerance: float = 1e-4

    def total_steps(self, train_rows: int) -> int:
        by_epochs = math.ceil(self.min_epochs * train_rows / self.batch_size)
        return max(self.steps, min(by_epochs, self.max_steps))
