"""The feature layout contract between dbt (feature_schema), training and inference. Torch-free."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FeatureGroup:
    group_name: str
    kind: str
    encoder: str | None
    horizon_days: int | None
    modality: str | None
    detail: str
    feature_offset: int
    dim: int

    def hash_line(self) -> str:
        # Mirrors the dbt macro feature_group_hash_line.
        return "|".join(
            [
                self.group_name,
                self.kind,
                self.encoder or "",
                str(self.horizon_days or ""),
                self.modality or "",
                self.detail,
                str(self.feature_offset),
                str(self.dim),
            ]
        )


FIELDS = [f for f in FeatureGroup.__dataclass_fields__]


def schema_hash(groups: list[FeatureGroup]) -> str:
    return hashlib.sha256("\n".join(g.hash_line() for g in groups).encode()).hexdigest()


def input_dim(groups: list[FeatureGroup]) -> int:
    return sum(g.dim for g in groups)


def groups_from_rows(rows: list[dict]) -> list[FeatureGroup]:
    return [FeatureGroup(**{k: row[k] for k in FIELDS}) for row in sorted(rows, key=lambda r: r["feature_offset"])]


def groups_to_rows(groups: list[FeatureGroup]) -> list[dict]:
    return [asdict(g) for g in groups]


def read_feature_schema(con) -> tuple[list[FeatureGroup], str]:
    """The layout and hash stored in the warehouse; verifies the stored hash against the rows."""
    table = con.sql(f"select {', '.join(FIELDS)}, schema_hash from feature_schema order by feature_offset").to_arrow_table()
    rows = table.to_pylist()
    if not rows:
        raise ValueError("feature_schema is empty: run `dbt build` first")
    groups = groups_from_rows(rows)
    stored = {r["schema_hash"] for r in rows}
    computed = schema_hash(groups)
    if stored != {computed}:
        raise ValueError(f"feature_schema hash {sorted(stored)} does not match its rows ({computed})")
    return groups, computed
