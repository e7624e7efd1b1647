from pathlib import Path

import pytest

from userrep.synthetic import WorldConfig

# history in monthly files, as an event log lands: a refresh can then skip the months before the window
TINY = WorldConfig(users=400, seed=7, events_per_user=60, users_per_chunk=150, tracks=600, podcasts=200, monthly_history=True)


@pytest.fixture(scope="session")
def tiny_config() -> WorldConfig:
    return TINY


@pytest.fixture(scope="session")
def shared_movielens() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "movielens-latest-small"
    if not (path / "ratings.csv").exists():
        pytest.skip("../shared/datasets/movielens-latest-small is not here")
    return path
