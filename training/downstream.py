"""A downstream task model on top of a representation version: logistic regression, ONNX, registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import torch
from sklearn.metrics import roc_auc_score

from python_udfs.catalog import downstream_registry
from training.data import features_matrix
from training.train import export_onnx, library_versions, onnx_parity, seed_everything
from userrep.registry import Registry
from userrep.schema import FeatureGroup, groups_to_rows, input_dim, read_feature_schema, schema_hash
from userrep.tasks import task_labels


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, seed: int = 0) -> torch.nn.Module:
    seed_everything(seed, threads=2)
    model = torch.nn.Linear(x.shape[1], 1)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))[:, None]
    optimiser = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xs), ys) + l2 * (model.weight**2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return torch.nn.Sequential(model, torch.nn.Sigmoid()).eval()


def train_downstream(task: str, representation_version: str, warehouse: Path, raw_dir: Path, registry_root: Path,
                     seed: int = 0, representations: Path | None = None):
    """TASK's model on a representation version's k floats, registered under registry_root/downstream/TASK;
    its scoring function checks every row's model_version. The version's manifest is read from
    `representations` (default: registry_root)."""
    table_name = f"user_representation_{representation_version}"
    space = Registry(representations or registry_root).manifest(representation_version).representation_space
    with duckdb.connect(str(warehouse), read_only=True) as con:
        table = con.sql(f"select user_id, embedding from {table_name} order by user_id").to_arrow_table()
        labels = task_labels(con, task, raw_dir)
    latent_dim = table.schema.field("embedding").type.list_size
    x = features_matrix(table.column("embedding").cast(pa.list_(pa.float32())), latent_dim)
    groups = [FeatureGroup("embedding", "representation", None, None, None, table_name, 0, latent_dim)]
    return fit_and_register(task, table.column("user_id").to_pylist(), x, labels, groups, "embedding",
                            downstream_registry(registry_root, task), seed, table_name,
                            # bound to the space: it scores every version aligned into it (python_udfs.catalog)
                            {"representation_version": representation_version, "space": space})


def train_downstream_on_features(task: str, warehouse: Path, raw_dir: Path, registry_root: Path, seed: int = 0):
    """TASK's model on user_features' D raw floats, as a team without a shared representation trains
    it (`userrep cost`). Its manifest carries the feature schema, which scoring checks on every row.
    registry_root must not be a deployment's registry: the plugin's score functions take a representation."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        groups, _ = read_feature_schema(con)
        table = con.sql("select user_id, features from user_features order by user_id").to_arrow_table()
        labels = task_labels(con, task, raw_dir)
    x = features_matrix(table.column("features"), input_dim(groups))
    return fit_and_register(task, table.column("user_id").to_pylist(), x, labels, groups, "features",
                            downstream_registry(registry_root, task), seed, "user_features", {"input_table": "user_features"})


def fit_and_register(task: str, user_ids: list[str], x: np.ndarray, labels: dict[str, bool], groups: list[FeatureGroup],
                     input_name: str, registry: Registry, seed: int, table_name: str, extra: dict):
    """Fit on a seeded 80% of the users, measure AUC on the rest, export to ONNX (checked against torch) and register."""
    y = np.array([labels[u] for u in user_ids], dtype=bool)
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[: len(y) // 5], order[len(y) // 5 :]
    model = fit_logistic(x[train], y[train], seed=seed)
    with torch.no_grad():
        scores = model(torch.from_numpy(x[test])).numpy().ravel()
    auc = float(roc_auc_score(y[test], scores))

    def write_files(directory: Path) -> dict:
        export_onnx(model, torch.from_numpy(x[:2].copy()), directory / "model.onnx", input_name, "score")
        parity = onnx_parity(model, directory / "model.onnx", np.ascontiguousarray(x[test]))
        if parity > 1e-5:
            raise RuntimeError(f"model.onnx disagrees with torch by {parity:.2e}")
        return {"metrics": {"test_auc": auc, "onnx_parity_max_abs_diff": parity, "positive_rate": float(y.mean()),
                            "train_rows": int(len(train)), "test_rows": int(len(test))}}

    return registry.publish(write_files, {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "feature_schema": groups_to_rows(groups), "feature_schema_hash": schema_hash(groups),
        "input_dim": input_dim(groups), "latent_dim": 1, "kind": "downstream",
        "training_data": {"table": table_name, "labels": "future_events.parquet", "rows": int(len(y)), "seed": seed},
        "hyperparameters": {"model": "logistic regression", "l2": 1e-3},
        "libraries": library_versions(),
        "extra": {"task": task, **extra},
    })
