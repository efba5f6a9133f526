import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import pytest

import dp_helpers as dp


def pytest_collection_modifyitems(config, items):
    """Mark the notebook re-runs slow, so `-m "not slow"` gives the fast set in seconds."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the Chromium the browser tests drive; they skip, saying why, where there is none."""
    from booktools import browser

    try:
        return browser.find_chromium()
    except browser.ChromiumUnavailable as err:
        pytest.skip(f"{err} (`python3 tasks.py test` installs it when run as root)")


@pytest.fixture(scope="session")
def original():
    """The original tutorial's synthetic setup (seed 123, n=10000, d=100, m=20, coverage 0.25)."""
    return dp.make_original_tutorial_data()


# The original tutorial's fit: 5000 plain gradient steps of size 5e-4 from q ~ Normal(0.5, 0.15).
ORIGINAL_SCHEDULE = dict(method="tensorflow", init="random", learning_rate=5e-4, steps=5000, tol=0)


@pytest.fixture(scope="session")
def original_tf_model(original):
    return dp.LabelModel(**ORIGINAL_SCHEDULE).fit(original.L)


def random_label_matrix(rng, n, m, coverage=0.3):
    votes = rng.random((n, m)) < coverage
    return (votes * rng.choice([-1, 1], size=(n, m))).astype(np.int8)
