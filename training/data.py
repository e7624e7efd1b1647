"""Features from the warehouse into arrays (via Arrow, no copies through CSV), and masking units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from userrep.schema import FeatureGroup, read_feature_schema


@dataclass
class FeatureData:
    user_ids: list[str]
    features: np.ndarray  # float32 [n, D]
    groups: list[FeatureGroup]
    schema_hash: str
    as_of: str
    total_rows: int


def features_matrix(arrow_list_column, dim: int) -> np.ndarray:
    """A FLOAT list column as an [n, dim] float32 array without a per-row Python loop."""
    column = arrow_list_column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    if len(values) != len(column) * dim:
        raise ValueError(f"features have {len(values) / max(len(column), 1):.1f} values per row on average, expected {dim}")
    return values.reshape(len(column), dim).astype(np.float32, copy=False)


def load_features(con, sample: int | None = None, seed: int = 0) -> FeatureData:
    groups, schema_hash = read_feature_schema(con)
    dim = sum(g.dim for g in groups)
    total, as_of = con.execute("select count(*), any_value(as_of)::varchar from user_features").fetchone()
    if total == 0:
        raise ValueError("user_features is empty: run `dbt build` first")
    hashes = con.execute("select distinct feature_schema_hash from user_features").fetchall()
    if hashes != [(schema_hash,)]:
        raise ValueError(f"user_features rows carry schema hashes {hashes}, feature_schema says {schema_hash}")
    # A deterministic sample: the same seed picks the same users.
    limit = f"order by hash(user_id || '{int(seed)}') limit {int(sample)}" if sample and sample < total else "order by user_id"
    table = con.sql(f"select user_id, features from user_features {limit}").to_arrow_table()
    return FeatureData(
        user_ids=table.column("user_id").to_pylist(),
        features=features_matrix(table.column("features"), dim),
        groups=groups,
        schema_hash=schema_hash,
        as_of=as_of,
        total_rows=total,
    )


def masking_units(groups: list[FeatureGroup]) -> dict[str, np.ndarray]:
    """Sets of feature positions that training drops together, mimicking real missing signal.

    Dropping a unit zeroes its groups and their presence flags: exactly how user_features encodes
    a user who lacks that signal. Units: each encoder, each horizon, each modality, all activity,
    and the new user (everything but onboarding picks, tenure and demographics).
    """
    dim = sum(g.dim for g in groups)

    def positions(selected: list[FeatureGroup]) -> np.ndarray:
        mask = np.zeros(dim, bool)
        for g in selected:
            mask[g.feature_offset : g.feature_offset + g.dim] = True
            for flag in groups:  # the presence flag that describes this group
                if flag.kind == "presence" and flag.detail == g.group_name:
                    mask[flag.feature_offset] = True
        return mask

    signal = [g for g in groups if g.kind != "presence"]
    units = {}
    for encoder in sorted({g.encoder for g in signal if g.encoder}):
        units[f"encoder:{encoder}"] = positions([g for g in signal if g.encoder == encoder and g.kind == "behaviour_mean"])
    for horizon in sorted({g.horizon_days for g in signal if g.horizon_days}):
        units[f"horizon:{horizon}d"] = positions([g for g in signal if g.horizon_days == horizon])
    for modality in sorted({g.modality for g in signal if g.modality}):
        units[f"modality:{modality}"] = positions(
            [g for g in signal if g.modality == modality and g.kind in ("behaviour_mean", "activity")]
        )
    units["activity"] = positions([g for g in signal if g.kind in ("activity", "recency")])
    units["new_user"] = positions([g for g in signal if g.kind in ("behaviour_mean", "activity", "recency")])
    return {name: mask for name, mask in units.items() if mask.any()}
