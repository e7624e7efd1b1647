"""Train the denoising autoencoder on user_features and register it as the next version.

    userrep train [--latent-dim 64 --steps 3000 --seed 0 --sample 200000]

Defaults live in training/config.py (TrainConfig). Same seed and data give bit-identical ONNX outputs.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from training.config import TrainConfig
from training.data import FeatureData, load_features, masking_units
from training.model import AutoEncoder, ExportedDecoder, ExportedEncoder


@dataclass
class TrainResult:
    model: AutoEncoder
    mean: np.ndarray
    std: np.ndarray
    history: list[dict]
    steps: int
    best_step: int
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


def lr_factor(step: int, total: int, warmup_fraction: float, final_ratio: float) -> float:
    """Linear warm-up, then cosine decay from 1 to final_ratio at the last step."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


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
    std = torch.where(std > 1e-6, torch.clamp(std, min=cfg.min_std), torch.ones_like(std))  # constant features pass through
    inv_std = 1.0 / std
    weights = torch.from_numpy(feature_weights(data, cfg.group_balance))

    units = masking_units(data.groups)
    unit_names = [u for u in units if u != "new_user"]
    unit_keep = torch.from_numpy(np.stack([~units[u] for u in unit_names]).astype(np.float32))
    new_user_keep = torch.from_numpy((~units["new_user"]).astype(np.float32))

    model = AutoEncoder(dim, cfg.hidden, cfg.latent_dim, cfg.normalise)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.total_steps(len(train_index))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: lr_factor(step, total_steps, cfg.warmup_fraction, cfg.final_lr_ratio))
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

    def batches():
        """Shuffled batches of the training rows, epoch after epoch."""
        while True:
            permutation = torch.randperm(len(train_index), generator=generator)
            for start in range(0, len(permutation), cfg.batch_size):
                yield x_train[permutation[start : start + cfg.batch_size]]

    val_clean = standardise(x_val)
    val_new_user = standardise(x_val * new_user_keep)
    history, best, best_step, best_state = [], math.inf, 0, None
    start = time.perf_counter()
    seen, running, running_rows = 0, 0.0, 0
    stream = batches()
    model.train()
    for step in tqdm(range(1, total_steps + 1), desc="train", unit="step", disable=None if progress else True, mininterval=1):
        batch = next(stream)
        _, reconstruction = model(corrupt(batch))
        loss = loss_fn(reconstruction, standardise(batch))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        scheduler.step()
        running += loss.item() * len(batch)
        running_rows += len(batch)
        seen += len(batch)
        if step % cfg.eval_every == 0 or step == total_steps:
            model.eval()
            with torch.no_grad():
                val_loss = loss_fn(model(val_clean)[1], val_clean).item()
                val_new_user_loss = loss_fn(model(val_new_user)[1], val_clean).item()
            model.train()
            history.append({"step": step, "epoch": round(seen / len(train_index), 2), "train_loss": running / running_rows,
                            "val_loss": val_loss, "val_new_user_loss": val_new_user_loss})
            running, running_rows = 0.0, 0
            if cfg.keep_best and val_loss + val_new_user_loss < best:
                best, best_step, best_state = val_loss + val_new_user_loss, step, copy.deepcopy(model.state_dict())
    seconds = time.perf_counter() - start
    if cfg.keep_best:
        model.load_state_dict(best_state)
    else:
        best_step = total_steps
    model.eval()
    return TrainResult(model, mean.numpy(), std.numpy(), history, total_steps, best_step, val_index, seconds, seen / seconds)


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
    steps = [h["step"] for h in history]
    for key, label in [("train_loss", "train (masked, noisy)"), ("val_loss", "validation"),
                       ("val_new_user_loss", "validation, new-user mask")]:
        ax.plot(steps, [h[key] for h in history], label=label)
    ax.set_xlabel("optimizer step")
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
        best = next(h for h in result.history if h["step"] == result.best_step)
        return {"metrics": {
            "steps": result.steps, "kept_step": result.best_step, "epochs": result.history[-1]["epoch"],
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
