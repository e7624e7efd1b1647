"""Train the denoising autoencoder on user_features and register it as the next version.

    userrep train [--latent-dim 64 --steps 1500 --seed 0 --sample 200000]

Defaults live in training/config.py (TrainConfig). Same seed and data give bit-identical ONNX outputs.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import platform
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from training.align import mean_cosine, procrustes
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
    rotation: np.ndarray | None = None  # orthogonal map into the parent's space, when aligned


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


def fit(data: FeatureData, cfg: TrainConfig, progress: bool = True, anchors: np.ndarray | None = None,
        parent=None) -> TrainResult:
    """Train the autoencoder. With `anchors` (a parent's embedding of each row, NaN where it has
    none), also pull each user's embedding toward the parent's, then rotate onto it; with `parent`
    (the parent's encoder: raw features -> embeddings), pull toward the parent's embedding of the
    same corrupted input instead, so the two agree on cold-start-like inputs too."""
    from tqdm import tqdm

    seed_everything(cfg.seed, cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    n, dim = data.features.shape
    order = rng.permutation(n)
    n_val = max(1, int(n * cfg.val_fraction))
    val_index, train_index = order[:n_val], order[n_val:]
    x_train = torch.from_numpy(data.features[train_index])
    x_val = torch.from_numpy(data.features[val_index])
    if anchors is not None:
        has_anchor = torch.from_numpy(np.isfinite(anchors).all(axis=1).astype(np.float32))
        anchor_values = torch.from_numpy(np.nan_to_num(anchors).astype(np.float32))
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
        """Shuffled batches of training rows (positions into train_index), epoch after epoch."""
        while True:
            permutation = torch.randperm(len(train_index), generator=generator)
            for start in range(0, len(permutation), cfg.batch_size):
                yield permutation[start : start + cfg.batch_size]

    def parent_loss(z, noisy):
        """Mean squared distance between the embeddings of the same corrupted input, child and parent."""
        target = torch.from_numpy(parent((noisy * std + mean).numpy()))
        return ((z - target) ** 2).sum(-1).mean()

    def alignment_loss(x, rows):
        """Mean squared distance between the clean input's embedding and the parent's."""
        rows = torch.from_numpy(train_index)[rows]
        distance = ((model.encode(standardise(x)) - anchor_values[rows]) ** 2).sum(-1)
        return (distance * has_anchor[rows]).sum() / has_anchor[rows].sum().clamp(min=1.0)

    val_clean = standardise(x_val)
    val_new_user = standardise(x_val * new_user_keep)
    history, best, best_step, best_state = [], math.inf, 0, None
    start = time.perf_counter()
    seen, running, running_rows = 0, 0.0, 0
    stream = batches()
    model.train()
    for step in tqdm(range(1, total_steps + 1), desc="train", unit="step", disable=None if progress else True, mininterval=1):
        rows = next(stream)
        batch = x_train[rows]
        noisy = corrupt(batch)
        z, reconstruction = model(noisy)
        loss = loss_fn(reconstruction, standardise(batch))
        if parent is not None:
            loss = loss + cfg.align_weight * parent_loss(z, noisy)
        elif anchors is not None:
            loss = loss + cfg.align_weight * alignment_loss(batch, rows)
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
                point = {"step": step, "epoch": round(seen / len(train_index), 2), "train_loss": running / running_rows,
                         "val_loss": val_loss, "val_new_user_loss": val_new_user_loss}
                if anchors is not None:
                    point["val_parent_cosine"] = mean_cosine(model.encode(val_clean).numpy(), anchors[val_index])
            model.train()
            history.append(point)
            running, running_rows = 0.0, 0
            if cfg.keep_best and val_loss + val_new_user_loss < best:
                best, best_step, best_state = val_loss + val_new_user_loss, step, copy.deepcopy(model.state_dict())
    seconds = time.perf_counter() - start
    if cfg.keep_best:
        model.load_state_dict(best_state)
    else:
        best_step = total_steps
    model.eval()
    rotation = None
    if anchors is not None:
        known = train_index[np.isfinite(anchors[train_index]).all(axis=1)]
        with torch.no_grad():
            z = model.encode(standardise(torch.from_numpy(data.features[known]))).numpy()
        rotation = procrustes(z, anchors[known])
    return TrainResult(model, mean.numpy(), std.numpy(), history, total_steps, best_step, val_index, seconds, seen / seconds,
                       rotation)


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


def encode_rows(encoder: torch.nn.Module, features: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([encoder(torch.tensor(features[i : i + 8192])).numpy() for i in range(0, len(features), 8192)]
                              or [np.zeros((0, 0), np.float32)])


def alignment_record(plan, source: str, data: FeatureData, result: TrainResult, z: np.ndarray, anchors: np.ndarray,
                     cfg: TrainConfig, raw_dir: Path | None, con) -> dict:
    """How well the new version agrees with its parent, for the manifest."""
    from userrep.evaluate import EvalSettings, binary_labels
    from userrep.stability import stability

    held_out = np.zeros(len(z), bool)
    held_out[result.val_index] = True
    record = {"source": source, "weight": cfg.align_weight, "users_with_parent": int(np.isfinite(anchors).all(axis=1).sum()),
              "mean_cosine_held_out_users": mean_cosine(z[held_out], anchors[held_out]),
              "mean_cosine_training_users": mean_cosine(z[~held_out], anchors[~held_out])}
    if raw_dir is None or not (Path(raw_dir) / "future_events.parquet").exists():
        record["retention"] = "not measured: no future_events.parquet with labels in the raw directory"
        return record
    labels = binary_labels(con, raw_dir, np.array(data.user_ids, dtype=object))
    section = stability(labels, "new", z, {plan.parent: anchors}, None, EvalSettings(folds=5, seeds=(0,)))
    record["retention"] = {task: entry["retention"][plan.parent]["aligned"]["mean"] if entry["retention"] else None
                           for task, entry in section["tasks"].items()}
    return record


def train_and_register(warehouse: Path, registry, cfg: TrainConfig, progress: bool = True, align_to: str | None = None,
                       no_align: bool = False, raw_dir: Path | None = None):
    """Train on the warehouse's user_features, export, verify and write the next registry version,
    aligned to `align_to` (default: the latest version) unless `no_align`."""
    import duckdb

    from training.align import parent_embeddings, parent_encoder, plan_alignment
    from userrep.schema import groups_to_rows

    plan = plan_alignment(registry, cfg.latent_dim, align_to, no_align)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        data = load_features(con, cfg.sample, cfg.seed)
        anchors, source = parent_embeddings(con, registry, plan.parent, data) if plan.parent else (None, None)
    parent = None
    if plan.parent and registry.manifest(plan.parent).feature_schema_hash == data.schema_hash:
        parent = parent_encoder(registry, plan.parent)
    result = fit(data, cfg, progress, anchors, parent)
    mean, std = torch.from_numpy(result.mean), torch.from_numpy(result.std)
    rotation = None if result.rotation is None else torch.from_numpy(result.rotation)
    encoder = ExportedEncoder(result.model, mean, std, rotation).eval()
    decoder = ExportedDecoder(result.model, mean, std, rotation).eval()
    held_out = np.ascontiguousarray(data.features[result.val_index[:2048]])
    alignment = {}
    if plan.parent:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            alignment = alignment_record(plan, source, data, result, encode_rows(encoder, data.features), anchors, cfg,
                                         raw_dir, con)

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
        "space": registry.manifest(plan.parent).representation_space if plan.parent else None,
        "aligned_to": plan.parent,
        "alignment": {**alignment, "plan": plan.reason},
    })
    return manifest


def unaligned_twin(warehouse: Path, manifest) -> torch.nn.Module:
    """The encoder a retrain with `manifest`'s settings but without alignment gives (what alignment is measured against)."""
    import duckdb

    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in manifest.hyperparameters.items() if k in known})
    with duckdb.connect(str(warehouse), read_only=True) as con:
        data = load_features(con, cfg.sample, cfg.seed)
    result = fit(data, cfg, progress=False)
    return ExportedEncoder(result.model, torch.from_numpy(result.mean), torch.from_numpy(result.std)).eval()
