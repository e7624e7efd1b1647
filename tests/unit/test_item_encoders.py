import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from userrep.item_encoders import embeddings_table, fit_cf_encoder, write_encoder


def _clustered_events(path, seed=0):
    """Two audiences: users 0-49 play items a*, users 50-99 play items b*."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(100):
        group = "a" if u < 50 else "b"
        for i in rng.choice(20, size=8, replace=False):
            users.append(f"u{u}")
            items.append(f"{group}{i}")
    pq.write_table(pa.table({"user_id": users, "item_id": items, "weight": [1.0] * len(users)}), path)


def test_cf_encoder_recovers_co_occurrence_clusters(tmp_path):
    _clustered_events(tmp_path / "events.parquet")
    table = fit_cf_encoder(tmp_path / "events.parquet", dim=4)
    ids = table.column("item_id").to_pylist()
    vectors = np.array(table.column("embedding").to_pylist())
    assert vectors.shape == (40, 4)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    a = vectors[[i.startswith("a") for i in ids]]
    b = vectors[[i.startswith("b") for i in ids]]
    within = (a @ a.T).mean()
    across = (a @ b.T).mean()
    assert within > across + 0.3


def test_cf_encoder_is_deterministic(tmp_path):
    _clustered_events(tmp_path / "events.parquet")
    assert fit_cf_encoder(tmp_path / "events.parquet", dim=4).equals(fit_cf_encoder(tmp_path / "events.parquet", dim=4))


def test_write_encoder_replaces_only_its_own_rows(tmp_path):
    out = tmp_path / "item_embeddings.parquet"
    write_encoder(embeddings_table("genre", ["m1", "m2"], np.ones((2, 3))), out)
    write_encoder(embeddings_table("cf", ["m1"], np.zeros((1, 2))), out)
    write_encoder(embeddings_table("cf", ["m2"], np.ones((1, 2))), out)
    rows = pq.read_table(out).to_pylist()
    assert sorted((r["encoder"], r["item_id"]) for r in rows) == [("cf", "m2"), ("genre", "m1"), ("genre", "m2")]
