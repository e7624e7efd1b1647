from pathlib import Path

import pytest

from userrep.synthetic import WorldConfig

# The files that take longest, longest first: `make test` runs one file per worker at a time in
# collection order, and a long file started last would keep one worker busy while the other idles.
LONGEST_FIRST = ["test_refresh.py", "test_walkthrough.py", "test_cost_command.py", "test_faults.py",
                 "test_cli_deployment.py", "test_alignment.py", "test_incremental.py", "test_watch.py", "test_demo.py"]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the other files, and the tests inside every file, keep their order


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
