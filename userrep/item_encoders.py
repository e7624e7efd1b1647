"""Item encoders fitted from data, for datasets that ship without pre-trained ones.

fit_cf_encoder: truncated SVD of the positive PMI of item co-occurrence within users, the
classic count-based collaborative embedding (Levy & Goldberg 2014). Works from any event log.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer


def embeddings_table(encoder: str, item_ids, vectors: np.ndarray) -> pa.Table:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    values = pa.array(vectors.reshape(-1))
    return pa.table(
        {
            "encoder": pa.array([encoder] * len(item_ids), pa.string()),
            "item_id": pa.array(list(item_ids), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(values, vectors.shape[1]).cast(pa.list_(pa.float32())),
        }
    )


def _l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _svd(matrix, dim: int, seed: int) -> np.ndarray:
    dim = min(dim, min(matrix.shape) - 1)
    svd = TruncatedSVD(n_components=dim, algorithm="randomized", n_iter=7, random_state=seed)
    factors = svd.fit_transform(matrix)
    # sklearn's sign convention is deterministic for a seed; scale by sqrt of the singular values
    return factors / np.sqrt(np.maximum(svd.singular_values_, 1e-12))


def fit_cf_encoder(events: str | Path, dim: int = 32, min_users: int = 2, seed: int = 0, encoder: str = "cf") -> pa.Table:
    """Item embeddings from an event parquet file or directory (user_id, item_id[, weight])."""
    path = Path(events)
    source = f"'{path}/**/*.parquet'" if path.is_dir() else f"'{path}'"
    con = duckdb.connect()
    pairs = con.execute(
        f"""
        with pairs as (select distinct user_id, item_id from read_parquet({source}) where user_id is not null and item_id is not null),
        items as (select item_id from pairs group by 1 having count(*) >= {int(min_users)})
        select dense_rank() over (order by user_id) - 1 as u, dense_rank() over (order by item_id) - 1 as i, item_id
        from pairs join items using (item_id)
        """
    ).fetchnumpy()
    con.close()
    if len(pairs["i"]) == 0:
        raise ValueError(f"no item seen by at least {min_users} users in {events}")
    n_items = int(pairs["i"].max()) + 1
    item_ids = np.empty(n_items, dtype=object)
    item_ids[pairs["i"]] = pairs["item_id"]
    x = sp.csr_matrix((np.ones(len(pairs["u"]), np.float32), (pairs["u"], pairs["i"])))
    co = (x.T @ x).tocoo()
    off_diagonal = co.row != co.col
    rows, cols, counts = co.row[off_diagonal], co.col[off_diagonal], co.data[off_diagonal].astype(np.float64)
    item_totals = np.bincount(rows, weights=counts, minlength=n_items)
    pmi = np.log(counts * counts.sum() / (item_totals[rows] * item_totals[cols]))
    positive = pmi > 0
    ppmi = sp.csr_matrix((pmi[positive], (rows[positive], cols[positive])), shape=(n_items, n_items))
    vectors = _l2_normalise(_svd(ppmi, dim, seed))
    return embeddings_table(encoder, item_ids, vectors)


def fit_text_encoder(item_ids, texts, dim: int, seed: int = 0, encoder: str = "text") -> pa.Table:
    """TF-IDF of free text (tags, descriptions) reduced by truncated SVD; items with no text are skipped."""
    keep = [i for i, t in enumerate(texts) if t and t.strip()]
    tfidf = TfidfVectorizer(min_df=2, token_pattern=r"[^|]+", lowercase=True).fit_transform([texts[i] for i in keep])
    vectors = _l2_normalise(_svd(tfidf, dim, seed))
    nonzero = np.linalg.norm(vectors, axis=1) > 0
    return embeddings_table(encoder, [item_ids[i] for i, ok in zip(keep, nonzero) if ok], vectors[nonzero])


def write_encoder(table: pa.Table, out: str | Path) -> None:
    """Write one encoder's rows into an item_embeddings file, replacing earlier rows of that encoder."""
    out = Path(out)
    if out.exists():
        existing = pq.read_table(out)
        names = set(table.column("encoder").unique().to_pylist())
        mask = pc.invert(pc.is_in(existing.column("encoder"), pa.array(list(names))))
        table = pa.concat_tables([existing.filter(mask).cast(table.schema), table])
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
