"""Issue 12: every input gets a right result or a clear error, never a silent wrong answer."""
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dp_helpers as dp
from conftest import ORIGINAL_SCHEDULE

GOOD = np.array([[1, 1, -1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]])


def independent_lfs(accuracies, n, coverage=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice([-1, 1], size=n)
    m = len(accuracies)
    right = rng.random((n, m)) < np.asarray(accuracies)
    votes = rng.random((n, m)) < coverage
    return y, (np.where(right, y[:, None], -y[:, None]) * votes).astype(np.int8)


# --- the default TensorFlow fit converges ------------------------------------------------------

def test_default_tensorflow_fit_matches_the_closed_form_on_a_strong_and_two_weak_lfs():
    truth = np.array([0.99, 0.6, 0.6])
    _, L = independent_lfs(truth, 200_000)
    closed = dp.LabelModel(method="closed_form", clip=(0.001, 0.999)).fit(L)
    default = dp.LabelModel(clip=(0.001, 0.999)).fit(L)
    assert default.converged_
    np.testing.assert_allclose(default.accuracies_, closed.accuracies_, atol=0.01)
    np.testing.assert_allclose(default.accuracies_[1:], [0.6, 0.6], atol=0.01)


def test_default_tensorflow_fit_on_an_exact_z_is_exact():
    q = 2 * np.array([0.6, 0.55, 0.65]) - 1
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1)
    stats_q = dp.fit_signed_accuracies_tf(Z, learning_rate=None, init=dp.fit_signed_accuracies_closed_form(Z), tol=1e-6)
    np.testing.assert_allclose(stats_q.q, q, atol=1e-4)
    assert stats_q.converged


REGIMES = {
    "strong": (0.8, 0.95),
    "weak": (0.55, 0.65),
    "mixed": (0.5, 0.95),
}


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("m", [3, 10, 30, 100])
def test_default_tensorflow_fit_is_never_worse_than_the_closed_form(regime, m):
    rng = np.random.default_rng(m)
    truth = rng.uniform(*REGIMES[regime], size=m)
    n = 200_000 if m <= 10 else 40_000
    coverage = 1.0 if m <= 10 else 0.3
    _, L = independent_lfs(truth, n, coverage, seed=m)
    stats = dp.overlap_stats(L)
    clip = dict(clip=(1e-4, 1 - 1e-4))
    closed = dp.LabelModel(method="closed_form", **clip).fit(stats)
    with warnings.catch_warnings():
        warnings.simplefilter("error", dp.ConvergenceWarning)
        default = dp.LabelModel(**clip).fit(stats)
    closed_error = np.abs(closed.accuracies_ - truth).mean()
    default_error = np.abs(default.accuracies_ - truth).mean()
    assert default_error <= closed_error + 0.005, (closed_error, default_error)


def test_a_fit_that_stops_early_warns():
    data = dp.make_synthetic(n=5000, d=1, m=6, random_state=0)
    with pytest.warns(dp.ConvergenceWarning, match="without converging"):
        model = dp.LabelModel(init="random", learning_rate=1e-5, steps=10).fit(data.L)
    assert model.converged_ is False and model.loss_history_.shape == (10,)


def test_original_schedule_runs_every_step_without_warning(original):
    with warnings.catch_warnings():
        warnings.simplefilter("error", dp.ConvergenceWarning)
        model = dp.LabelModel(**ORIGINAL_SCHEDULE).fit(original.L)
    assert model.loss_history_.shape == (5000,)


# --- hyperparameters are checked at fit ------------------------------------------------------

@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(clip=(0.9, 0.1)), ValueError, r"clip is \(0.9, 0.1\); .*0 < low < high < 1"),
        (dict(clip=(0.0, 0.9)), ValueError, r"clip is"),
        (dict(clip=(0.1, 1.0)), ValueError, r"clip is"),
        (dict(clip=0.1), TypeError, r"clip must be a pair"),
        (dict(clip=("a", 0.9)), TypeError, r"clip must be a real number"),
        (dict(steps=0), ValueError, r"steps is 0; it must be a positive int"),
        (dict(steps=-5), ValueError, r"steps is -5"),
        (dict(steps=2.5), TypeError, r"steps must be an int"),
        (dict(learning_rate=0.0), ValueError, r"learning_rate is 0; it must be > 0"),
        (dict(learning_rate=-1e-3), ValueError, r"learning_rate is"),
        (dict(learning_rate=np.nan), ValueError, r"learning_rate is nan; it must be finite"),
        (dict(learning_rate="fast"), TypeError, r"learning_rate must be a real number"),
        (dict(tol=-1.0), ValueError, r"tol is -1; it must be >= 0"),
        (dict(anchor_lf=1.5), TypeError, r"anchor_lf must be an int"),
        (dict(anchor_lf=3), ValueError, r"anchor is LF 3, but there are only 3 LFs"),
        (dict(anchor_lf=-1), ValueError, r"anchor is LF -1"),
        (dict(method="em"), ValueError, r"method must be one of"),
        (dict(init="zeros"), ValueError, r"init must be one of"),
        (dict(class_prior="0.5"), TypeError, r"class_prior must be a real number"),
        (dict(class_prior=True), TypeError, r"class_prior must be a real number"),
        (dict(class_prior=1.0), ValueError, r"class_prior is 1"),
        (dict(class_prior=np.nan), ValueError, r"class_prior is nan"),
        (dict(random_state=1.5), TypeError, r"random_state must be an int"),
        (dict(random_state="0"), TypeError, r"random_state must be an int"),
    ],
)
@pytest.mark.parametrize("method", ["closed_form", "tensorflow"])
def test_bad_hyperparameters_are_named_at_fit(params, error, message, method):
    params = {"method": method, **params}
    with pytest.raises(error, match=message):
        dp.LabelModel(**params).fit(GOOD)


# --- estimator conventions -------------------------------------------------------------------

def test_label_model_is_a_scikit_learn_estimator():
    from sklearn.base import BaseEstimator, clone

    model = dp.LabelModel(method="closed_form", class_prior=0.3, anchor_lf=0)
    L = dp.make_synthetic(n=2000, d=1, m=5, random_state=0).L
    assert isinstance(model, BaseEstimator)
    assert model.get_params()["class_prior"] == 0.3
    copy = clone(model).set_params(class_prior=0.4)
    assert copy.class_prior == 0.4 and model.class_prior == 0.3
    assert not hasattr(clone(model.fit(L)), "accuracies_")


def test_predict_before_fit_is_a_not_fitted_value_error():
    from sklearn.exceptions import NotFittedError

    for call in (lambda m: m.predict_proba(GOOD), lambda m: m.predict(GOOD)):
        with pytest.raises(dp.NotFittedError, match="not fitted yet") as info:
            call(dp.LabelModel())
        assert isinstance(info.value, ValueError) and isinstance(info.value, NotFittedError)


# --- one-class LFs ---------------------------------------------------------------------------

def test_one_coin_model_warns_about_one_class_lfs():
    L = np.array([[1, 1, 0, -1], [1, -1, 1, -1], [-1, 1, 1, 0], [1, 1, 1, -1], [0, -1, 1, -1]])
    with pytest.warns(dp.OneClassLFWarning, match=r"LF 2 \(\+1\), LF 3 \(-1\) vote only one class.*ClassConditionalLabelModel"):
        dp.LabelModel(method="closed_form").fit(L)
    with pytest.warns(dp.OneClassLFWarning):
        dp.LabelModel(method="closed_form").fit(sp.csr_matrix(L))
    with warnings.catch_warnings():
        warnings.simplefilter("error", dp.OneClassLFWarning)
        dp.LabelModel(method="closed_form").fit(GOOD)


def test_lf_summary_has_polarity():
    table = dp.lf_summary(np.array([[1, 1, 0], [1, -1, 0], [0, -1, -1]]))
    assert table["polarity"].tolist() == [[1], [-1, 1], [-1]]


# --- disconnected groups of LFs --------------------------------------------------------------

def two_groups(seed=0):
    """LFs 0-3 vote on the first half of the points, LFs 4-7 on the second: they never overlap."""
    truth = np.array([0.8, 0.7, 0.75, 0.65, 0.85, 0.7, 0.6, 0.75])
    y, L = independent_lfs(truth, 40_000, seed=seed)
    L[: len(y) // 2, 4:] = 0
    L[len(y) // 2 :, :4] = 0
    return truth, y, L


@pytest.mark.parametrize("method", ["closed_form", "tensorflow"])
def test_disconnected_groups_are_fitted_each_on_its_own(method):
    truth, y, L = two_groups()
    assert [g.tolist() for g in dp.lf_components(dp.overlap_matrix(L))] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    model = dp.LabelModel(method=method).fit(L)
    np.testing.assert_allclose(model.accuracies_, truth, atol=0.03)
    assert dp.accuracy(y, model.predict(L)) > 0.85


def test_each_group_gets_its_own_sign_and_the_anchor_only_fixes_its_group():
    truth, y, L = two_groups()
    L[:, 4:] *= -1  # the second group is now worse than chance: the default sign rule flips it back
    default = dp.LabelModel(method="closed_form").fit(L)
    np.testing.assert_allclose(default.accuracies_, truth, atol=0.03)
    anchored = dp.LabelModel(method="closed_form", anchor_lf=0).fit(L)
    np.testing.assert_allclose(anchored.accuracies_, default.accuracies_)
    # "LF 4 is better than chance": its group takes the other sign; the first group keeps its own
    anchored = dp.LabelModel(method="closed_form", anchor_lf=4).fit(-L)
    np.testing.assert_allclose(anchored.accuracies_, np.r_[truth[:4], truth[4:]], atol=0.03)
    one_bad = L.copy()
    one_bad[:, 5:] *= -1  # group 2: LF 4 worse than chance, LFs 5-7 better
    anchored = dp.LabelModel(method="closed_form", anchor_lf=4).fit(one_bad)
    np.testing.assert_allclose(anchored.accuracies_, np.r_[truth[:4], truth[4], 1 - truth[5:]], atol=0.03)


def test_a_group_too_small_to_identify_is_an_error_naming_its_lfs():
    truth, y, L = two_groups()
    L = L[:, :6]
    with pytest.raises(ValueError, match=r"LF 4 overlaps only LFs \[5\].*LFs \[4, 5\] never overlap the other LFs"):
        dp.LabelModel(method="closed_form").fit(L)


# --- performance ------------------------------------------------------------------------------

def test_closed_form_with_1000_lfs_is_fast():
    rng = np.random.default_rng(0)
    q = rng.uniform(0.1, 0.5, size=1000)
    Z = np.clip(np.outer(q, q) + rng.normal(0, 0.01, (1000, 1000)), -1, 1)
    Z = (Z + Z.T) / 2
    np.fill_diagonal(Z, 1)
    dp.fit_signed_accuracies_closed_form(Z)
    start = time.perf_counter()
    fitted = dp.fit_signed_accuracies_closed_form(Z)
    elapsed = time.perf_counter() - start
    assert np.abs(fitted - q).mean() < 0.01
    assert elapsed < 2.0  # well under 0.3 s on an idle 2-core machine; generous for a shared one
