"""Train the denoising autoencoder on user_features and register it as the next version.

    userrep train [--latent-dim 64 --epochs 40 --seed 0 --sample 200000]

Defaults live in TrainConfig below. Same seed and data give bit-identical ONNX outputs.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from training.data import FeatureData, load_features, masking_units
from training.model import AutoEncoder, ExportedDecoder, ExportedEncoder


@dataclass
class TrainConfig:
    latent_dim: int = 64
    hidden: list[int] = field(default_factory=lambda: [512, 256])
    epochs: int = 40
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    patience: int = 6  # epochs without validation improvement before stopping
    mask_prob: float = 0.5  # chance a training row has one masking unit dropped
    new_user_prob: float = 0.15  # chance it gets the new-user pattern instead
    noise_std: float = 0.1  # Gaussian noise on standardised inputs
    group_balance: float = 0.5  # feature loss weight = group_dim ** -group_balance
    sample: int | None = 200_000  # train on at most this many users
    seed: int = 0
    threads: int = 2
    parity_tolerance: float = 1e-4


@dataclass
class TrainResult:
    model: AutoEncoder
    mean: np.ndarray
    std: np.ndarray
    history: list[dict]
    best_epoch: int
    val_index: np.ndarray
    seconds: float
    samples_per_second: float


def seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def feature_weights(data: FeatureData, balance: float) -> np.ndarray:
    weights = np.concatenate([np.full(g.dim, g.dim ** -balance) for g in data.groups])
    return (weights * len(weights) / weights.sum()).astype(np.float32)


def fit(data: FeatureData, cfg: TrainConfig, progress: bool = True) -> TrainResult:
    from tqdm import tqdm

    seed_everything(cfg.seed, cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    n, dim = data.features.shape
    order = rng.permutation(n)
    n_val = max(1, int(n * cfg.val_fraction))
    val_index, train_index = order[:n_val], order[n_val:]
    x_train = torch.from_numpy(data.features[train_index])
    x_val = torch.from_numpy(data.features[val_index])
    mean = x_train.mean(0)
    std = x_train.std(0)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))  # constant features pass through
    inv_std = 1.0 / std
    weights = torch.from_numpy(feature_weights(data, cfg.group_balance))

    units = masking_units(data.groups)
    unit_names = [u for u in units if u != "new_user"]
    unit_keep = torch.from_numpy(np.stack([~units[u] for u in unit_names]).astype(np.float32))
    new_user_keep = torch.from_numpy((~units["new_user"]).astype(np.float32))

    model = AutoEncoder(dim, cfg.hidden, cfg.latent_dim)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_index) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(cfg.seed)

    def standardise(x):
        return (x - mean) * inv_std

    def loss_fn(reconstruction, target):
        return ((reconstruction - target) ** 2 * weights).mean()

    def corrupt(x):
        rows = x.shape[0]
        keep = torch.ones_like(x)
        draw = torch.rand(rows, generator=generator)
        unit = torch.randint(len(unit_names), (rows,), generator=generator)
        masked = draw < cfg.mask_prob
        keep[masked] = unit_keep[unit[masked]]
        keep[draw >= 1 - cfg.new_user_prob] = new_user_keep
        noisy = standardise(x * keep)
        return noisy + cfg.noise_std * torch.randn(noisy.shape, generator=generator)

    val_clean = standardise(x_val)
    val_new_user = standardise(x_val * new_user_keep)
    history, best, best_epoch, best_state, stale = [], math.inf, 0, None, 0
    start = time.perf_counter()
    seen = 0
    bar = tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=None if progress else True)
    for epoch in bar:
        model.train()
        permutation = torch.randperm(len(train_index), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            batch = x_train[permutation[step * cfg.batch_size : (step + 1) * cfg.batch_size]]
            _, reconstruction = model(corrupt(batch))
            loss = loss_fn(reconstruction, standardise(batch))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(val_clean)[1], val_clean).item()
            val_new_user_loss = loss_fn(model(val_new_user)[1], val_clean).item()
        score = val_loss + val_new_user_loss
        history.append({"epoch": epoch + 1, "train_loss": total / len(train_index), "val_loss": val_loss,
                        "val_new_user_loss": val_new_user_loss})
        bar.set_postfix(train=f"{history[-1]['train_loss']:.3f}", val=f"{val_loss:.3f}", new_user=f"{val_new_user_loss:.3f}")
        if score < best - 1e-4:
            best, best_epoch, best_state, stale = score, epoch + 1, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, mean.numpy(), std.numpy(), history, best_epoch, val_index, seconds, seen / seconds)


def export_onnx(module: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str, output_name: str) -> None:
    import onnx

    module.eval()
    torch.onnx.export(
        module, (example,), str(path), input_names=[input_name], output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, opset_version=17, dynamo=False,
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def onnx_parity(module: torch.nn.Module, path: Path, inputs: np.ndarray, scale: np.ndarray | None = None) -> float:
    """Max abs difference between onnxruntime and torch on the same rows (divided by `scale`)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    with torch.no_grad():
        torch_out = module(torch.from_numpy(inputs)).numpy()
    diff = np.abs(onnx_out - torch_out)
    return float((diff / scale if scale is not None else diff).max())


def plot_history(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [h["epoch"] for h in history]
    for key, label in [("train_loss", "train (masked, noisy)"), ("val_loss", "validation"),
                       ("val_new_user_loss", "validation, new-user mask")]:
        ax.plot(epochs, [h[key] for h in history], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted reconstruction MSE")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def library_versions() -> dict:
    import duckdb
    import onnx
    import onnxruntime

    return {"python": platform.python_version(), "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "duckdb": duckdb.__version__}


def train_and_register(warehouse: Path, registry, cfg: TrainConfig, progress: bool = True):
    """Train on the warehouse's user_features, export, verify and write the next registry version."""
    import duckdb

    from userrep.schema import groups_to_rows

    with duckdb.connect(str(warehouse), read_only=True) as con:
        data = load_features(con, cfg.sample, cfg.seed)
    result = fit(data, cfg, progress)
    mean, std = torch.from_numpy(result.mean), torch.from_numpy(result.std)
    encoder = ExportedEncoder(result.model, mean, std).eval()
    decoder = ExportedDecoder(result.model, mean, std).eval()
    held_out = np.ascontiguousarray(data.features[result.val_index[:2048]])

    def write_files(directory: Path) -> dict:
        export_onnx(encoder, torch.from_numpy(held_out[:2]), directory / "encoder.onnx", "features", "representation")
        with torch.no_grad():
            z = encoder(torch.from_numpy(held_out)).numpy()
        export_onnx(decoder, torch.from_numpy(z[:2]), directory / "decoder.onnx", "representation", "reconstruction")
        parity = {
            "encoder": onnx_parity(encoder, directory / "encoder.onnx", held_out),
            # the decoder speaks raw units (tenure in days...): compare in standardised units
            "decoder": onnx_parity(decoder, directory / "decoder.onnx", z, scale=result.std),
        }
        for name, diff in parity.items():
            if not diff <= cfg.parity_tolerance:
                raise RuntimeError(f"{name}.onnx disagrees with torch by {diff:.2e} (> {cfg.parity_tolerance}); not registering")
        plot_history(result.history, directory / "loss_curve.png", f"userrep autoencoder ({len(data.user_ids):,} users)")
        best = result.history[result.best_epoch - 1]
        return {"metrics": {
            "best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "train_loss": best["train_loss"], "val_loss": best["val_loss"], "val_new_user_loss": best["val_new_user_loss"],
            "onnx_parity_max_abs_diff": parity, "train_seconds": round(result.seconds, 2),
            "samples_per_second": round(result.samples_per_second, 1), "history": result.history,
        }}

    manifest = registry.publish(write_files, {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "feature_schema": groups_to_rows(data.groups),
        "feature_schema_hash": data.schema_hash,
        "input_dim": int(data.features.shape[1]),
        "latent_dim": cfg.latent_dim,
        "training_data": {"table": "user_features", "warehouse": str(warehouse), "as_of": data.as_of,
                          "rows": data.total_rows, "sample": cfg.sample, "sampled_rows": len(data.user_ids),
                          "seed": cfg.seed, "validation_rows": int(len(result.val_index))},
        "hyperparameters": asdict(cfg),
        "libraries": library_versions(),
    })
    return manifest
