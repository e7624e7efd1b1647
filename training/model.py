"""The denoising autoencoder and the graphs that get exported (standardisation folded in)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.LayerNorm(b), nn.GELU()]
    return nn.Sequential(*layers)


class AutoEncoder(nn.Module):
    def __init__(self, input_dim: int, hidden: list[int], latent_dim: int, normalise: bool = True):
        super().__init__()
        self.encoder = mlp([input_dim, *hidden, latent_dim])
        self.decoder = mlp([latent_dim, *reversed(hidden), input_dim])
        self.normalise = normalise

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        # unit length, so downstream cosine similarity is a dot product
        return F.normalize(z, dim=-1, eps=1e-8) if self.normalise else z

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return z, self.decoder(z)


class ExportedEncoder(nn.Module):
    """Raw features in, representation out: the training split's standardisation is inside."""

    def __init__(self, model: AutoEncoder, mean: torch.Tensor, std: torch.Tensor, rotation: torch.Tensor | None = None):
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean)
        self.register_buffer("inv_std", 1.0 / std)
        self.register_buffer("rotation", rotation)  # into the parent's space, when aligned

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = self.model.encode((features - self.mean) * self.inv_std)
        return z if self.rotation is None else z @ self.rotation


class ExportedDecoder(nn.Module):
    """Representation in, reconstructed raw features out (for reconstruction error)."""

    def __init__(self, model: AutoEncoder, mean: torch.Tensor, std: torch.Tensor, rotation: torch.Tensor | None = None):
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("rotation", rotation)

    def forward(self, representation: torch.Tensor) -> torch.Tensor:
        if self.rotation is not None:  # back from the parent's space into the model's own
            representation = representation @ self.rotation.T
        return self.model.decoder(representation) * self.std + self.mean
