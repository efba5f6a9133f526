import numpy as np
import pytest
from original_loops import original_loops

import dp_helpers as dp


@pytest.mark.parametrize("n, d, m, coverage", [(300, 7, 5, 0.25), (200, 3, 9, 0.6), (50, 1, 3, 0.05)])
def test_seed_generator_equals_original_loops_draw_for_draw(n, d, m, coverage):
    X, y, feature_accs, lf_accs, L = original_loops(n, d, m, coverage)
    data = dp.make_original_tutorial_data(n=n, d=d, m=m, coverage=coverage)
    np.testing.assert_array_equal(data.y, y)
    np.testing.assert_array_equal(data.feature_accuracies, feature_accs)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.lf_accuracies, lf_accs)
    np.testing.assert_array_equal(data.L, L)


def test_seed_generator_equals_original_loops_on_full_setup(original):
    X, y, _, lf_accs, L = original_loops(10_000, 100, 20, 0.25)
    np.testing.assert_array_equal(original.L, L)
    np.testing.assert_array_equal(original.X, X)
    np.testing.assert_array_equal(original.y, y)
    np.testing.assert_array_equal(original.lf_accuracies, lf_accs)
    assert original.L.dtype == np.int8 and original.L.shape == (10_000, 20)


def test_synthetic_accuracies_and_coverage_are_what_was_asked():
    data = dp.make_synthetic(n=200_000, d=2, m=4, coverage=[0.1, 0.2, 0.3, 0.4],
                             lf_accuracies=[0.6, 0.7, 0.8, 0.9], random_state=0)
    coverage = (data.L != 0).mean(axis=0)
    np.testing.assert_allclose(coverage, [0.1, 0.2, 0.3, 0.4], atol=0.005)
    voted = data.L != 0
    empirical = [(data.L[voted[:, j], j] == data.y[voted[:, j]]).mean() for j in range(4)]
    np.testing.assert_allclose(empirical, [0.6, 0.7, 0.8, 0.9], atol=0.01)


def test_synthetic_class_balance():
    data = dp.make_synthetic(n=100_000, d=1, m=3, class_balance=0.2, random_state=1)
    assert abs((data.y == 1).mean() - 0.2) < 0.005


def test_synthetic_duplicates_are_exact_copies():
    data = dp.make_synthetic(n=1000, m=5, duplicates={2: 3}, random_state=0)
    assert data.L.shape == (1000, 8)
    assert data.groups == [[2, 5, 6, 7]]
    for j in (5, 6, 7):
        np.testing.assert_array_equal(data.L[:, j], data.L[:, 2])
        assert data.lf_accuracies[j] == data.lf_accuracies[2]


def test_synthetic_is_reproducible_and_seed_dependent():
    a = dp.make_synthetic(n=500, random_state=3)
    b = dp.make_synthetic(n=500, random_state=3)
    c = dp.make_synthetic(n=500, random_state=4)
    np.testing.assert_array_equal(a.L, b.L)
    assert not np.array_equal(a.L, c.L)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"coverage": 0.0}, "coverage"),
        ({"class_balance": 1.0}, "class_balance"),
        ({"lf_accuracies": (0.8, 0.6)}, "low <= high"),
        ({"lf_accuracies": [0.6, 0.7, 0.8]}, "20 values"),
        ({"duplicates": {25: 1}}, "only 20 LFs"),
    ],
)
def test_synthetic_rejects_bad_knobs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dp.make_synthetic(n=10, **kwargs)


@pytest.mark.parametrize("kwargs, error", [(dict(n=0), ValueError), (dict(m=2.5), ValueError), (dict(d=True), ValueError),
                                           (dict(coverage="0.3"), TypeError), (dict(lf_accuracies="0.7"), TypeError)])
def test_make_synthetic_refuses_bad_sizes_and_text_numbers(kwargs, error):
    with pytest.raises(error, match=r"must be a positive int|must be numbers, not str"):
        dp.make_synthetic(**{"n": 100, "m": 3, "d": 1, **kwargs})


def test_original_data_takes_random_state():
    a = dp.make_original_tutorial_data(n=50, d=3, m=3, random_state=7)
    b = dp.make_original_tutorial_data(n=50, d=3, m=3, random_state=7)
    np.testing.assert_array_equal(a.L, b.L)
