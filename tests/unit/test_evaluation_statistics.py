"""The evaluation's statistics without a warehouse: paired comparisons, recall, the report's tables."""

import numpy as np
import pytest
import scipy.sparse as sp

from userrep.evaluate import MIN_PER_CLASS, MIN_USERS, RidgePath, RidgeRecommender, compare, recall_at
from userrep.report import plot_metrics, task_lines


def _results(rep_folds, base_folds, n=500, positives=100, kind="binary", metric="roc_auc"):
    def cell(folds):
        return {"n": n, "positives": positives, metric: float(np.mean(folds)), f"{metric}_std": float(np.std(folds, ddof=1)),
                f"{metric}_folds": list(folds)}
    return {"tasks": {"t": {"metric": metric, "kind": kind, "users": n, "positives": positives,
                            "methods": {"representation": {"all": cell(rep_folds)}, "pca_8": {"all": cell(base_folds)}}}}}


def test_a_lower_mean_within_the_spread_of_paired_differences_is_a_tie():
    results = _results([0.70, 0.74, 0.69, 0.75, 0.71], [0.71, 0.72, 0.70, 0.74, 0.73])
    verdict = compare(results, "t", "roc_auc", "representation", "pca_8")
    assert verdict["difference"] < 0 and verdict["status"] == "tie"


def test_a_consistent_loss_is_missed_and_a_consistent_win_is_met():
    low, high = [0.70, 0.74, 0.69, 0.75, 0.71], [0.72, 0.76, 0.71, 0.77, 0.73]
    assert compare(_results(low, high), "t", "roc_auc", "representation", "pca_8")["status"] == "missed"
    assert compare(_results(high, low), "t", "roc_auc", "representation", "pca_8")["status"] == "met"


def test_a_share_of_the_baseline_is_compared_fold_by_fold():
    rep, raw = [0.70, 0.71, 0.69, 0.70, 0.71], [0.71, 0.72, 0.70, 0.71, 0.72]
    assert compare(_results(rep, raw), "t", "roc_auc", "representation", "pca_8")["status"] == "missed"
    assert compare(_results(rep, raw), "t", "roc_auc", "representation", "pca_8", share=0.98)["status"] == "met"


@pytest.mark.parametrize("n, positives", [(MIN_USERS - 1, 20), (500, MIN_PER_CLASS - 1), (500, 500 - MIN_PER_CLASS + 1)])
def test_no_verdict_on_a_sample_too_small_to_say(n, positives):
    """A 0.89 against 0.01 on four positives is noise, not a target met."""
    results = _results([0.9, 0.95, 0.85], [0.01, 0.02, 0.0], n=n, positives=positives)
    assert compare(results, "t", "roc_auc", "representation", "pca_8")["status"] == "too few users"


def test_recall_counts_hits_among_the_top_k_over_each_users_items():
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.0, 0.1, 0.2, 0.9]])
    truth = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 1, 1]], np.float32))
    assert recall_at(scores, truth, ks=(1, 2)) == {"recall@1": 0.5, "recall@2": 0.75}


def test_the_ridge_recommender_learns_a_planted_taste_and_never_ranks_history():
    rng = np.random.default_rng(0)
    taste = rng.integers(0, 2, 400)  # half the users like items 0-4, half items 5-9
    x = np.stack([taste + 0.1 * rng.normal(size=400), rng.normal(size=400)], 1)
    liked = np.where(taste[:, None] == 1, np.arange(10) < 5, np.arange(10) >= 5)
    future = sp.csr_matrix((liked & (rng.random((400, 10)) < 0.5)).astype(np.float32))
    history = sp.csr_matrix(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 400)])
    model = RidgeRecommender(x[:300], future[:300], history[:300])
    scores = model.scores(x[300:], history[300:])
    assert np.all(np.isinf(scores[history[300:].nonzero()]))
    top = np.argmax(scores, axis=1)
    assert np.mean((top < 5) == (taste[300:] == 1)) > 0.95


def test_the_ridge_path_gives_the_direct_solution_at_every_penalty():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 6)) * [1, 2, 3, 4, 5, 6] + 3
    y = sp.csr_matrix((rng.random((120, 9)) < 0.3).astype(np.float32))
    path, unseen = RidgePath(x, y), sp.csr_matrix((20, 9), dtype=np.float32)
    xs = (x - x.mean(0)) / (x.std(0) + 1e-6)
    intercept = np.asarray(y.mean(axis=0)).ravel()
    for penalty in RidgeRecommender.PENALTIES:
        weights = np.linalg.solve(xs.T @ xs + penalty * len(x) * np.eye(6), xs.T @ (y.toarray().astype(np.float64) - intercept))
        expected = (x[:20] - x.mean(0)) / (x.std(0) + 1e-6) @ weights + intercept
        np.testing.assert_allclose(path.scores(x[:20], unseen, penalty), expected, rtol=1e-9, atol=1e-12)


def test_a_task_without_metrics_is_a_sentence_not_a_malformed_table(tmp_path):
    entry = {"metric": "macro_f1", "kind": "multiclass", "users": 3, "classes": 1, "methods": {}}
    lines = task_lines("future_genre", entry)
    assert not any("|  |" in line or line.strip() == "| method |  |" for line in lines)
    assert any(line.startswith("Not evaluated") for line in lines)


def test_a_plot_with_nothing_to_show_says_so(tmp_path):
    results = {"tasks": {"future_genre": {"metric": "macro_f1", "kind": "multiclass", "users": 3, "methods": {}}}}
    plot_metrics(results, tmp_path / "empty.png", "cold_start")
    import matplotlib.image

    pixels = matplotlib.image.imread(tmp_path / "empty.png")
    assert pixels[..., :3].std() > 0.01  # not a blank canvas: the explanation is drawn


def test_calendar_features_beside_the_vector_reach_every_method_but_the_onboarding_baseline():
    from userrep.evaluate import EvalData, feature_sets

    rng = np.random.default_rng(0)
    n, dim = 40, 6
    features = rng.normal(size=(n, dim))
    calendar = np.stack([rng.integers(0, 5, n), rng.integers(0, 8, n), rng.integers(0, 2, n)], 1).astype(float)
    data = EvalData(user_ids=np.arange(n), features=features, representations={"representation": rng.normal(size=(n, 4))},
                    reconstruction=None, groups=[], onboarding_columns=np.array([0, 1]), cohorts={}, binary_labels={},
                    genre=None, attribute=None, calendar=calendar)
    sets = feature_sets(data, np.arange(30), k=3)
    assert {name: x.shape[1] for name, x in sets.items()} == {"representation": 7, "raw_features": 9, "pca_3": 6, "onboarding_mean": 2}
    np.testing.assert_array_equal(sets["representation"][:, -3:], calendar)
    data.calendar = None
    assert feature_sets(data, np.arange(30), k=3)["representation"].shape[1] == 4
