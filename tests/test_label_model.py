import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dp_helpers as dp
from conftest import ORIGINAL_SCHEDULE


# --- the original tutorial's numbers -------------------------------------------------------

def test_majority_vote_reproduces_original_0_693(original):
    assert round(dp.accuracy(original.y, dp.majority_vote(original.L)), 3) == 0.693


def test_tensorflow_fit_reproduces_original_accuracy_error_0_017(original, original_tf_model):
    error = np.abs(original_tf_model.accuracies_ - original.lf_accuracies).mean()
    assert round(error, 3) == 0.017


def test_posterior_reproduces_original_accuracy_0_727(original, original_tf_model):
    proba = original_tf_model.predict_proba(original.L)[:, 1]
    assert round(dp.accuracy(original.y, np.sign(proba - 0.5)), 3) == 0.727


def test_tensorflow_fit_is_repeatable(original, original_tf_model):
    again = dp.LabelModel(**ORIGINAL_SCHEDULE).fit(original.L)
    np.testing.assert_array_equal(again.accuracies_, original_tf_model.accuracies_)


def test_tensorflow_loss_decreases_to_a_plateau(original_tf_model):
    history = original_tf_model.loss_history_
    assert history.shape == (5000,)
    assert history[-1] < 0.05 * history[0]
    assert abs(history[-1] - history[-500]) < 1e-4 * history[0]


def test_closed_form_and_tensorflow_agree_on_the_original_setup(original, original_tf_model):
    closed = dp.LabelModel(method="closed_form").fit(original.L)
    assert np.abs(closed.accuracies_ - original_tf_model.accuracies_).max() < 0.02
    closed_error = np.abs(closed.accuracies_ - original.lf_accuracies).mean()
    assert closed_error < 0.02
    agree = np.sign(closed.predict_proba(original.L)[:, 1] - 0.5) == np.sign(original_tf_model.predict_proba(original.L)[:, 1] - 0.5)
    assert agree.mean() > 0.99


# --- laws ----------------------------------------------------------------------------------

signed_accuracies = st.lists(st.floats(0.15, 0.95), min_size=3, max_size=12).map(np.array)


@settings(max_examples=50, deadline=None)
@given(signed_accuracies, st.data())
def test_closed_form_recovers_q_exactly_from_noiseless_rank_one(q, data):
    flips = np.array(data.draw(st.lists(st.sampled_from([-1, 1]), min_size=len(q), max_size=len(q))))
    q = q * flips
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1.0)
    fitted = dp.fit_signed_accuracies_closed_form(Z)
    assert np.allclose(fitted, q, atol=1e-9) or np.allclose(fitted, -q, atol=1e-9)
    if abs(q.sum()) > 1e-6:  # otherwise q and -q are equally "better than chance"
        assert fitted.sum() > 0


def test_closed_form_recovers_q_with_missing_pairs():
    q = np.array([0.5, 0.3, 0.6, 0.4, 0.2, 0.7])
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1.0)
    Z[0, 1] = Z[1, 0] = Z[2, 5] = Z[5, 2] = np.nan
    np.testing.assert_allclose(dp.fit_signed_accuracies_closed_form(Z), q, atol=1e-9)


def test_tensorflow_recovers_q_from_noiseless_rank_one_with_missing_pairs():
    q = np.array([0.5, 0.3, 0.6, 0.4, 0.2, 0.7, 0.45])
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1.0)
    Z[0, 1] = Z[1, 0] = np.nan
    fit = dp.fit_signed_accuracies_tf(Z, steps=20_000, learning_rate=2e-3)
    np.testing.assert_allclose(fit.q, q, atol=1e-3)


def test_sign_is_resolved_towards_better_than_chance():
    q = np.array([0.4, 0.2, -0.1, 0.5])
    np.testing.assert_array_equal(dp.resolve_sign(-q), q)
    np.testing.assert_array_equal(dp.resolve_sign(q), q)


def brute_force_posterior(votes, p, prior):
    """P(y=+1 | votes) by Bayes' rule, multiplying P(vote_j | y) over LFs for both labels."""
    joint = {}
    for y in (1, -1):
        likelihood = prior if y == 1 else 1 - prior
        for vote, acc in zip(votes, p):
            if vote != 0:
                likelihood *= acc if vote == y else 1 - acc
        joint[y] = likelihood
    return joint[1] / (joint[1] + joint[-1])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.02, 0.98), min_size=1, max_size=5),
    st.floats(0.05, 0.95),
)
def test_posterior_equals_brute_force_bayes(p, prior):
    m = len(p)
    L = np.array(list(itertools.product([-1, 0, 1], repeat=m)), dtype=np.int8)
    expected = [brute_force_posterior(row, p, prior) for row in L]
    np.testing.assert_allclose(dp.posterior(L, p, class_prior=prior), expected, rtol=1e-10)


def test_posterior_of_a_point_without_votes_is_the_prior():
    L = np.zeros((2, 3), int)
    np.testing.assert_allclose(dp.posterior(L, [0.7, 0.8, 0.9], class_prior=0.3), [0.3, 0.3])


def test_posterior_saturates_without_overflow():
    L = np.ones((1, 400), int)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        proba = dp.posterior(L, np.full(400, 0.99))
        proba_neg = dp.posterior(-L, np.full(400, 0.99))
    assert proba[0] == 1.0 and proba_neg[0] == 0.0


def test_log_odds_values():
    np.testing.assert_allclose(dp.log_odds([0.5, 0.75, 0.1]), [0.0, np.log(3), np.log(1 / 9)])


@pytest.mark.parametrize("K", [2, 3, 6])
def test_majority_vote_with_k_classes_is_the_unique_plurality(K):
    rng = np.random.default_rng(K)
    L = np.where(rng.random((300, 7)) < 0.5, rng.integers(1, K + 1, size=(300, 7)), 0)
    expected = []
    for row in L:
        counts = np.bincount(row[row > 0], minlength=K + 1)[1:]
        winners = np.flatnonzero(counts == counts.max()) + 1
        expected.append(winners[0] if counts.max() > 0 and winners.size == 1 else 0)
    for matrix in (L, sp.csr_matrix(L)):
        np.testing.assert_array_equal(dp.majority_vote(matrix, n_classes=K), expected)


def test_majority_vote_with_n_classes_2_agrees_with_the_sign_rule():
    L = np.random.default_rng(0).choice([-1, 0, 1], size=(200, 5))
    np.testing.assert_array_equal(dp.majority_vote(L, n_classes=2), dp.majority_vote(L))


@pytest.mark.parametrize("L, kwargs, error, match", [
    ([[1, 2, 3]], {}, ValueError, r"L\[0, 1\] is 2; votes must be -1, 0 \(abstain\) or \+1; .* pass n_classes=K"),
    ([[1, 2, 4]], {"n_classes": 3}, ValueError, r"L\[0, 2\] is 4; votes must be 0 \(abstain\) or a class 1..3"),
    ([[1, 2, 3]], {"n_classes": 1}, ValueError, "n_classes is 1; it must be at least 2"),
    ([[1, 2, 3]], {"n_classes": 3.0}, TypeError, "n_classes must be an int"),
])
def test_majority_vote_with_k_classes_refuses_bad_input_by_name(L, kwargs, error, match):
    with pytest.raises(error, match=match):
        dp.majority_vote(L, **kwargs)


def test_majority_vote_ties_and_empty_rows_are_zero():
    L = np.array([[1, -1, 0], [0, 0, 0], [1, 1, -1], [-1, 0, 0]])
    np.testing.assert_array_equal(dp.majority_vote(L), [0, 0, 1, -1])
    np.testing.assert_array_equal(dp.majority_vote(sp.csr_matrix(L)), [0, 0, 1, -1])


def test_accuracy_gives_half_credit_for_ties():
    assert dp.accuracy([1, 1, -1, -1], [1, 0, 0, 1]) == 0.5


# --- LabelModel ----------------------------------------------------------------------------

def test_label_model_accepts_sparse_and_stats_and_gives_the_same_answer(original):
    dense = dp.LabelModel(method="closed_form").fit(original.L)
    sparse = dp.LabelModel(method="closed_form").fit(sp.csr_matrix(original.L))
    stats = dp.LabelModel(method="closed_form").fit(dp.overlap_stats(original.L))
    np.testing.assert_allclose(sparse.accuracies_, dense.accuracies_)
    np.testing.assert_allclose(stats.accuracies_, dense.accuracies_)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(original.L)), dense.predict_proba(original.L))


def test_label_model_fitted_attributes(original):
    model = dp.LabelModel(method="closed_form").fit(original.L)
    assert model.accuracies_.shape == (20,)
    assert np.all((model.accuracies_ > 0) & (model.accuracies_ < 1))
    np.testing.assert_allclose(model.weights_, dp.log_odds(model.accuracies_))
    np.testing.assert_allclose(model.signed_accuracies_, 2 * model.accuracies_ - 1)
    assert model.overlap_.shape == (20, 20) and model.loss_history_ is None


def test_label_model_clips_accuracies_and_records_it():
    # LF 0 is always right and the others agree with it often: its q is near 1.
    rng = np.random.default_rng(0)
    y = rng.choice([-1, 1], size=5000)
    L = np.stack([y, y * np.where(rng.random(5000) < 0.95, 1, -1), y * np.where(rng.random(5000) < 0.9, 1, -1)], axis=1)
    model = dp.LabelModel(method="closed_form", clip=(0.05, 0.95)).fit(L)
    assert model.clipped_[0] and model.accuracies_[0] == 0.95
    assert np.all(np.isfinite(model.weights_))


def test_label_model_predict_breaks_ties_by_a_coin_keyed_on_the_row():
    rng = np.random.default_rng(0)
    L = rng.choice([-1, 0, 1], size=(2000, 4))
    model = dp.LabelModel(method="closed_form").fit(np.vstack([L, [[1, 1, -1, 1], [1, -1, 1, 1], [-1, 1, 1, 1]] * 50]))
    model.accuracies_ = np.full(4, 0.7)  # equal weights: every row with as many +1 as -1 votes is a tie
    labels = model.predict(L)
    ties = model.predict(L, tie_break="abstain") == 0
    assert set(np.unique(labels)) == {-1, 1} and ties.sum() > 300
    assert 0.35 < (labels[ties] == 1).mean() < 0.65  # different vote patterns get different coins
    for i in np.flatnonzero(ties)[:50]:  # a row's label never depends on its neighbours
        assert model.predict(L[i : i + 1])[0] == labels[i]
        assert model.predict(sp.csr_matrix(L[i : i + 1]))[0] == labels[i]
    np.testing.assert_array_equal(model.predict(L[::-1])[::-1], labels)
    np.testing.assert_array_equal(model.predict(sp.csr_matrix(L)), labels)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.sampled_from([-1, 0, 1]), min_size=3, max_size=3), min_size=1, max_size=30),
       st.integers(0, 29))
def test_a_rows_label_does_not_depend_on_the_batch(rows, k):
    model = dp.LabelModel(method="closed_form").fit(np.array([[1, 1, 1], [1, -1, 1], [-1, 1, 1], [1, 1, -1]] * 5))
    L = np.array(rows)
    k = k % len(rows)
    for tie_break in ("random", "prior", "abstain"):
        assert model.predict(L, tie_break=tie_break)[k] == model.predict(L[k : k + 1], tie_break=tie_break)[0]


def test_tie_break_prior_takes_the_majority_class():
    L = np.array([[1, 1, 1], [1, -1, 1], [-1, 1, 1], [1, 1, -1]] * 5)
    empty = np.zeros((3, 3), int)
    assert dp.LabelModel(method="closed_form", class_prior=0.3).fit(L).predict(empty, tie_break="prior").tolist() == [-1] * 3
    assert dp.LabelModel(method="closed_form", class_prior=0.5).fit(L).predict(empty, tie_break="prior").tolist() == [1] * 3


def test_class_prior_shifts_the_posterior(original):
    balanced = dp.LabelModel(method="closed_form").fit(original.L)
    skewed = dp.LabelModel(method="closed_form", class_prior=0.8).fit(original.L)
    assert np.all(skewed.predict_proba(original.L)[:, 1] > balanced.predict_proba(original.L)[:, 1])


def test_label_model_recovers_accuracies_with_enough_data():
    data = dp.make_synthetic(n=200_000, m=15, coverage=0.2, random_state=7)
    for method in ("closed_form", "tensorflow"):
        model = dp.LabelModel(method=method).fit(data.L)
        assert np.abs(model.accuracies_ - data.lf_accuracies).mean() < 0.01, method


def test_tensorflow_fits_of_any_m_reuse_one_trace_without_warnings(original, caplog, recwarn):
    import logging

    from dp_helpers.label_model import _gradient_descent

    caplog.set_level(logging.DEBUG)
    for k, m in enumerate([20, 15, 3, 7, 12, 9, 4, 18, 5]):
        for init in ("random", "closed_form"):
            dp.LabelModel(method="tensorflow", init=init, random_state=k, steps=50, tol=0).fit(original.L[:, :m])
    # One trace for every m (the signature leaves m open); a fresh trace per m makes TF warn.
    assert _gradient_descent().experimental_get_tracing_count() == 1
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert not [w for w in recwarn if "retrac" in str(w.message)]


def test_anchor_lf_fixes_the_sign_when_most_lfs_are_worse_than_chance():
    accuracies = [0.3, 0.35, 0.4, 0.3, 0.8]  # LF 4 is the one we trust
    data = dp.make_synthetic(n=50_000, m=5, lf_accuracies=accuracies, random_state=2)
    default = dp.LabelModel(method="closed_form").fit(data.L)
    anchored = dp.LabelModel(method="closed_form", anchor_lf=4).fit(data.L)
    np.testing.assert_allclose(default.accuracies_, 1 - np.array(accuracies), atol=0.03)
    np.testing.assert_allclose(anchored.accuracies_, accuracies, atol=0.03)
    assert dp.accuracy(data.y, anchored.predict(data.L)) > 0.6 > 0.4 > dp.accuracy(data.y, default.predict(data.L))
    with pytest.raises(ValueError, match="only 5 LFs"):
        dp.resolve_sign(anchored.signed_accuracies_, anchor=7)
