"""Issue 12: every input gets a right result or a clear error, never a silent wrong answer."""
import functools
import time
import warnings

import numpy as np
import pandas as pd
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


# --- labeling functions ----------------------------------------------------------------------

def test_vectorized_lf_series_in_another_order_is_read_by_index():
    from dp_helpers.scale import label_partition, vectorized_lf

    df = pd.DataFrame({"x": [3, -1, 1, 4]}, index=["a", "b", "c", "d"])
    shuffled = vectorized_lf(lambda d: pd.Series(np.where(d["x"] > 2, 1, -1), index=d.index).iloc[::-1], name="big")
    assert label_partition(df, [shuffled]).L.toarray().ravel().tolist() == [1, -1, -1, 1]
    other = vectorized_lf(lambda d: pd.Series(np.where(d["x"] > 2, 1, -1)), name="other_index")
    with pytest.raises(ValueError, match="index is not the partition's"):
        label_partition(df, [other])


def test_an_lf_returning_a_bool_is_an_error():
    from dp_helpers.scale import label_partition

    lf = dp.labeling_function(lambda x: x > 2, name="condition")
    with pytest.raises(TypeError, match=r"LF 'condition' returned True for record 0; an LF returns a vote, not a condition"):
        dp.apply_lfs([lf], [3, 1])
    with pytest.raises(TypeError, match="returned np.True_|returned True"):
        dp.apply_lfs([dp.labeling_function(lambda x: np.bool_(x > 2), name="np_condition")], [3])
    with pytest.raises(TypeError, match="not a condition"):
        label_partition(pd.DataFrame({"x": [3]}), [dp.labeling_function(lambda r: r.x > 2, name="c")])


@pytest.mark.parametrize("column", ["class", "_score", "mean radius", "1st"])
@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_columns_that_named_tuples_rename_are_refused_up_front(column, on_error):
    from dp_helpers.scale import label_partition

    df = pd.DataFrame({column: [1, 2], "ok": [1, 2]})
    lf = dp.labeling_function(lambda r: 1 if getattr(r, column) > 1 else 0, name="reads_column")
    with pytest.raises(ValueError, match=r"cannot be read by an LF as x.<name>"):
        label_partition(df, [lf], on_error=on_error)
    with pytest.raises(ValueError, match=r"cannot be read by an LF as x.<name>"):
        dp.apply_lfs([lf], df)


def test_labeling_function_can_rename_an_lf():
    @dp.labeling_function
    def old(x):
        return 1

    renamed = dp.labeling_function(old, name="new")
    assert renamed.name == "new" and renamed(0) == 1 and old.name == "old"
    from dp_helpers.scale import vectorized_lf

    v = vectorized_lf(lambda d: np.ones(len(d)), name="v_old")
    assert vectorized_lf(v, name="v_new").name == "v_new"


def test_partial_lfs_get_a_name_from_their_function_and_arguments():
    def keyword(x, word):
        return 1 if word in x else 0

    lf = dp.labeling_function(functools.partial(keyword, word="refund"))
    assert lf.name == "keyword(word='refund')"
    assert dp.apply_lfs([functools.partial(keyword, word="a"), functools.partial(keyword, word="b")], ["a", "b"]).tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize(
    "lfs, error, message",
    [
        (lambda x: 1, TypeError, r"wrap a single LF in a list: \[lf\]"),
        ([lambda x: 1, "not an lf"], TypeError, r"lfs\[1\] is a str .*not a labeling function"),
        ([], ValueError, "at least one labeling function"),
    ],
)
def test_bad_lf_lists_are_named(lfs, error, message):
    from dp_helpers.scale import label_partition

    with pytest.raises(error, match=message):
        dp.apply_lfs(lfs, [1, 2])
    with pytest.raises(error, match=message):
        label_partition(pd.DataFrame({"x": [1]}), lfs)


def test_an_lf_that_raises_is_named_with_its_record_in_memory_as_in_scale():
    from dp_helpers.scale import label_partition

    boom = dp.labeling_function(lambda r: 1 if 10 / r.x > 1 else 0, name="inverse")
    df = pd.DataFrame({"x": [1, 2, 0]}, index=["a", "b", "c"])
    for run in (lambda: dp.apply_lfs([boom], df), lambda: label_partition(df, [boom])):
        with pytest.raises(dp.LabelingFunctionError, match=r"LF 'inverse' failed on record 'c': ZeroDivisionError") as info:
            run()
        assert info.value.lf == "inverse" and info.value.record == "c"


def test_dask_dataframe_given_to_in_memory_apply_lfs_points_to_scale():
    import dask.dataframe as dd

    ddf = dd.from_pandas(pd.DataFrame({"x": [1, 2]}), npartitions=1)
    with pytest.raises(TypeError, match=r"dp.scale.apply_lfs"):
        dp.apply_lfs([lambda r: 1], ddf)
    with pytest.raises(TypeError, match=r"must be a dask.dataframe.DataFrame.*dd.from_pandas"):
        dp.scale.apply_lfs(pd.DataFrame({"x": [1, 2]}), [lambda r: 1])


def test_names_of_the_wrong_length_are_named():
    with pytest.raises(ValueError, match="names has 2 entries but L has 3 LFs"):
        dp.lf_summary(GOOD, names=["a", "b"])
    with pytest.raises(ValueError, match="names has 2 entries but there are 3 LFs"):
        dp.correlated_pairs(GOOD, [0.5, 0.5, 0.5], names=["a", "b"])


# --- stored label matrices --------------------------------------------------------------------

def test_writing_over_a_stored_label_matrix_never_mixes_parts(tmp_path):
    import dask.dataframe as dd
    from dp_helpers import scale

    lf = scale.vectorized_lf(lambda d: np.sign(d["x"]), name="s")
    big = scale.apply_lfs(dd.from_pandas(pd.DataFrame({"x": np.arange(-5, 5)}), npartitions=5), [lf])
    small = scale.apply_lfs(dd.from_pandas(pd.DataFrame({"x": [1, -1]}), npartitions=1), [lf])
    scale.write_label_matrix(big, tmp_path, scheduler="synchronous")
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="already holds a label matrix.*overwrite=True"):
        scale.write_label_matrix(small, tmp_path, scheduler="synchronous")
    scale.write_label_matrix(small, tmp_path, overwrite=True, scheduler="synchronous")
    back = scale.read_label_matrix(tmp_path).compute(scheduler="synchronous")
    assert back.L.toarray().ravel().tolist() == [1, -1]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_stored_lf_indices_do_not_wrap_beyond_32767_lfs(tmp_path):
    from dp_helpers.scale.lfs import LabelBlock, _failure_frame
    from dp_helpers.scale.storage import _read_block, _write_block

    m = 40_000
    L = sp.csr_matrix((np.array([1, -1, 1], np.int8), (np.array([0, 0, 1]), np.array([5, 33_000, 39_999]))), shape=(2, m))
    index = pd.RangeIndex(2)
    _write_block(LabelBlock(L, index, _failure_frame([], index)), str(tmp_path / "part.00000.parquet"))
    back = _read_block(str(tmp_path / "part.00000.parquet"), m)
    assert (back.L != L).nnz == 0


# --- NaN paths and impossible statistics -------------------------------------------------------

@pytest.mark.parametrize("accuracies, message", [([0.6, np.nan, 0.7], r"accuracies\[1\] is nan"),
                                                  ([0.6, 1.5, 0.7], r"accuracies\[1\] is 1.5; .*in \[0, 1\]"),
                                                  ([0.6, -0.1, 0.7], r"accuracies\[1\] is -0.1")])
def test_estimate_class_prior_refuses_bad_accuracies(accuracies, message):
    with pytest.raises(ValueError, match=message):
        dp.estimate_class_prior(GOOD, accuracies)


@pytest.mark.parametrize("q, message", [([0.6, np.nan, 0.7], r"q\[1\] is nan"), ([0.6, 3.0, 0.7], r"q\[1\] is 3; signed accuracies")])
def test_correlated_pairs_refuses_bad_signed_accuracies(q, message):
    with pytest.raises(ValueError, match=message):
        dp.correlated_pairs(GOOD, q)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-1.08, 1.08), min_size=4, max_size=4), st.integers(0, 1000))
def test_correlated_pairs_columns_agree_with_z_even_when_q_is_clipped(q, seed):
    L = np.random.default_rng(seed).choice([-1, 0, 1], size=(300, 4))
    table = dp.correlated_pairs(L, q, threshold=-1)
    np.testing.assert_allclose(table["residual"], table["Z"] - table["expected"], atol=1e-12)
    assert (table["expected"].abs() <= 1).all()


@pytest.mark.parametrize(
    "signed, counts, n, message",
    [
        ([[3, 4], [4, 3]], [[3, 2], [2, 3]], 5, r"\|Z\| > 1"),
        ([[3, 1], [1, 3]], [[3, 2], [2, 3]], 5, "parity"),
        ([[3, 2], [2, 3]], [[3, 2], [1, 3]], 5, "counts must be symmetric"),
        ([[2, 3], [3, 3]], [[2, 3], [3, 3]], 5, "overlap on more points than one of them votes"),
        ([[3, 1], [1, 3]], [[3, 1], [1, 3]], 2, "votes 3 times on n = 2"),
        ([[3, 1], [1, 3]], [[-3, 1], [1, 3]], 5, "negative|exceeds"),
    ],
)
def test_impossible_overlap_statistics_are_refused(signed, counts, n, message):
    with pytest.raises(ValueError, match=message):
        dp.OverlapStats(np.array(signed), np.array(counts), n)


@pytest.mark.parametrize("fit", [dp.fit_signed_accuracies_closed_form, dp.fit_signed_accuracies_tf])
def test_an_impossible_overlap_matrix_is_refused(fit):
    Z = np.array([[1, 1.4, 0.2], [1.4, 1, 0.3], [0.2, 0.3, 1]])
    with pytest.raises(ValueError, match=r"Z\[0, 1\] is 1.4; an overlap rate"):
        fit(Z)
    Z = np.array([[1, 0.4, 0.2], [0.1, 1, 0.3], [0.2, 0.3, 1]])
    with pytest.raises(ValueError, match="Z must be symmetric"):
        fit(Z)


def test_overlap_stats_of_real_matrices_pass_the_checks():
    L = np.random.default_rng(0).choice([-1, 0, 1], size=(500, 6))
    stats = dp.overlap_stats(L) + dp.overlap_stats(sp.csr_matrix(L))
    assert stats.n == 1000


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.05, 0.95), min_size=3, max_size=40).map(np.array), st.data())
def test_default_tensorflow_fit_recovers_q_from_any_exact_rank_one_z(q, data):
    flips = np.array(data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(q), max_size=len(q))))
    q = q * flips
    q = q if q.sum() >= 0 else -q
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", dp.ConvergenceWarning)
        fit = dp.fit_signed_accuracies_tf(Z, learning_rate=None, init=dp.fit_signed_accuracies_closed_form(Z), tol=1e-6)
    np.testing.assert_allclose(fit.q, q, atol=2e-4)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("full", [True, False])
def test_closed_form_float32_path_agrees_with_float64(seed, full, monkeypatch):
    import dp_helpers.label_model as lm

    rng = np.random.default_rng(seed)
    m = 300
    q = rng.uniform(-0.2, 0.6, size=m)
    Z = np.clip(np.outer(q, q) + rng.normal(0, 0.02, (m, m)), -1, 1)
    Z = (Z + Z.T) / 2
    np.fill_diagonal(Z, 1)
    if not full:
        Z[0, 1] = Z[1, 0] = np.nan
    fast = dp.fit_signed_accuracies_closed_form(Z)
    monkeypatch.setattr(lm, "_FLOAT32_BEYOND", 10**9)
    np.testing.assert_allclose(fast, dp.fit_signed_accuracies_closed_form(Z), atol=1e-5)
    assert np.abs(fast - q).mean() < 0.01
