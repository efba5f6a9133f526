"""The class-conditional (Dawid-Skene) label model and the YouTube spam loader."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import dp_helpers as dp
from dp_helpers import datasets
from dp_helpers.class_conditional import ClassConditionalLabelModel, sample_from_tables


def one_class_tables(K, m, rng, mixed=False):
    """Random tables where LF j votes only class j % K (or, if mixed, any class), better than
    chance on what it votes for, with class-dependent abstaining."""
    T = np.zeros((m, K + 1, K))
    for j in range(m):
        if mixed and j % 2:
            for c in range(K):
                cover = rng.uniform(0.3, 0.7)
                right = rng.uniform(0.6, 0.9)
                T[j, 1:, c] = cover * (1 - right) / (K - 1)
                T[j, c + 1, c] = cover * right
        else:
            v = j % K
            hit = rng.uniform(0.3, 0.6)                 # votes v when y = v
            T[j, v + 1, :] = rng.uniform(0.01, 0.08, size=K)
            T[j, v + 1, v] = hit
        T[j, 0, :] = 1 - T[j, 1:, :].sum(axis=0)
    return T


@pytest.mark.parametrize("K, m, mixed, prior", [
    (2, 8, False, [0.5, 0.5]),
    (2, 8, True, [0.8, 0.2]),
    (3, 9, False, [0.2, 0.3, 0.5]),
    (3, 9, True, [1 / 3] * 3),
    (5, 15, False, [0.1, 0.15, 0.2, 0.25, 0.3]),
])
def test_recovers_known_tables_and_prior(K, m, mixed, prior):
    rng = np.random.default_rng(K * 100 + m)
    T = one_class_tables(K, m, rng, mixed)
    L, y = sample_from_tables(T, prior, n=300_000, random_state=1)
    model = ClassConditionalLabelModel(smoothing=1.0).fit(L)
    assert model.converged_
    np.testing.assert_allclose(model.class_prior_, prior, atol=0.01)
    np.testing.assert_allclose(model.conditional_, T, atol=0.015)
    # and the posterior is as good as the one computed with the true tables
    oracle = ClassConditionalLabelModel().fit(L)
    oracle.conditional_, oracle.class_prior_ = np.maximum(T, 1e-12), np.asarray(prior)
    assert abs((model.predict(L) == y).mean() - (oracle.predict(L) == y).mean()) < 0.003


def test_one_class_lfs_fail_the_one_coin_model_but_not_this_one():
    rng = np.random.default_rng(7)
    T = one_class_tables(2, 6, rng)
    L, y = sample_from_tables(T, [0.5, 0.5], n=50_000, random_state=2)
    cc_acc = (ClassConditionalLabelModel().fit(L).predict(L) == y).mean()
    with pytest.warns(UserWarning):
        one_coin = dp.LabelModel(method="closed_form").fit(L)
    coin_acc = (one_coin.predict(L) == y).mean()
    assert cc_acc > coin_acc + 0.1
    assert cc_acc > (dp.majority_vote(L) == y).mean()


@pytest.mark.parametrize("accuracies, constrain", [((0.55, 0.8), True), ((0.45, 0.75), False)])
def test_agrees_with_the_one_coin_model_on_one_coin_data(accuracies, constrain):
    # With LFs worse than chance, only the plain EM agrees: the constraint makes them abstain-like.
    data = dp.make_synthetic(n=200_000, m=10, lf_accuracies=accuracies, random_state=3)
    cc = ClassConditionalLabelModel(better_than_chance=constrain).fit(data.L)
    coin = dp.LabelModel(method="closed_form").fit(data.L)
    gap = np.abs(cc.predict_proba(data.L)[:, 1] - coin.predict_proba(data.L)[:, 1])
    covered = (data.L != 0).any(axis=1)
    assert gap.mean() < 0.015
    assert (cc.predict(data.L)[covered] == coin.predict(data.L)[covered]).mean() > 0.97
    # the class-conditional accuracy of a vote, averaged over the classes, is the one-coin p_j
    np.testing.assert_allclose(np.nanmean(cc.lf_accuracies(), axis=1), coin.accuracies_, atol=0.015)


@pytest.mark.parametrize("K", [2, 3])
def test_posterior_equals_brute_force_bayes(K):
    rng = np.random.default_rng(K)
    T = one_class_tables(K, 4, rng, mixed=True)
    L, _ = sample_from_tables(T, np.full(K, 1 / K), n=5000, random_state=4)
    model = ClassConditionalLabelModel().fit(L)
    labels = model.classes_
    rows = np.array(list(itertools.product(np.concatenate([[0], labels]), repeat=4)))
    expected = []
    for row in rows:
        joint = model.class_prior_.copy()
        for j, vote in enumerate(row):
            v = 0 if vote == 0 else int(np.flatnonzero(labels == vote)[0]) + 1
            joint = joint * model.conditional_[j, v, :]
        expected.append(joint / joint.sum())
    np.testing.assert_allclose(model.predict_proba(rows), np.array(expected), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(2, 4), smoothing=st.sampled_from([0.1, 1.0, 5.0]),
       constrain=st.booleans())
def test_em_objective_never_decreases(seed, K, smoothing, constrain):
    rng = np.random.default_rng(seed)
    T = one_class_tables(K, 5, rng, mixed=bool(seed % 2))
    L, _ = sample_from_tables(T, rng.dirichlet(np.ones(K) * 3), n=400, random_state=seed)
    if ((L != 0).sum(axis=0) == 0).any():
        return
    with warnings.catch_warnings():   # a slow random start may stop at max_iter: still monotone
        warnings.simplefilter("ignore", dp.ConvergenceWarning)
        model = ClassConditionalLabelModel(smoothing=smoothing, better_than_chance=constrain, init="random",
                                           random_state=seed, n_classes=None if K == 2 else K).fit(L)
    assert np.all(np.diff(model.objective_) >= -1e-10)
    assert np.all((model.conditional_ > 0) & (model.conditional_ < 1))
    np.testing.assert_allclose(model.conditional_.sum(axis=1), 1)


def test_label_switching_is_resolved_from_a_random_start():
    rng = np.random.default_rng(11)
    T = one_class_tables(3, 9, rng)
    L, y = sample_from_tables(T, [0.3, 0.3, 0.4], n=60_000, random_state=5)
    accs = [(ClassConditionalLabelModel(init="random", random_state=s).fit(L).predict(L) == y).mean() for s in range(4)]
    assert min(accs) > 0.8


def test_better_than_chance_holds_for_every_vote_the_lfs_cast():
    data = dp.load_youtube_spam()
    L = np.column_stack([
        np.where(data.train.text.str.contains("check", case=False), 1, 0),
        np.where(data.train.text.str.contains("http", case=False), 1, 0),
        np.where(data.train.text.str.contains("my", case=False), 1, 0),
        np.where(data.train.text.str.contains("song", case=False), -1, 0),
        np.where(data.train.text.str.split().str.len() < 5, -1, 0),
    ])
    model = ClassConditionalLabelModel().fit(L)
    T = model.conditional_
    for j, v in zip(*np.nonzero(model.vote_counts_)):
        assert T[j, v + 1, v] >= T[j, v + 1, :].max() - 1e-12


def test_sparse_and_dense_inputs_agree():
    data = dp.make_synthetic(n=5000, m=6, random_state=0)
    dense = ClassConditionalLabelModel().fit(data.L)
    sparse = ClassConditionalLabelModel().fit(sp.csr_matrix(data.L))
    np.testing.assert_allclose(dense.predict_proba(data.L), sparse.predict_proba(sp.csr_matrix(data.L)))


def test_a_row_gets_the_same_label_alone_and_in_a_batch():
    data = dp.make_synthetic(n=3000, m=5, random_state=1)
    model = ClassConditionalLabelModel().fit(data.L)
    batch = model.predict(data.L)
    for i in range(0, 3000, 97):
        assert model.predict(data.L[i:i + 1])[0] == batch[i]


def test_n_classes_when_the_last_class_never_gets_a_vote():
    L = np.array([[1, 2, 0], [2, 2, 1], [1, 0, 1], [0, 1, 2]] * 50)
    model = ClassConditionalLabelModel(n_classes=3).fit(L)
    assert model.classes_.tolist() == [1, 2, 3]
    assert model.conditional_.shape == (3, 4, 3)
    assert model.predict_proba(L).shape == (200, 3)


def test_estimator_conventions():
    model = ClassConditionalLabelModel(smoothing=0.5, max_iter=50)
    assert model.get_params()["smoothing"] == 0.5
    copy = clone(model).set_params(max_iter=10)
    assert copy.max_iter == 10 and model.max_iter == 50
    for method in (model.predict_proba, model.predict):
        with pytest.raises(dp.NotFittedError, match="not fitted"):
            method(np.ones((2, 3), dtype=int))
    assert issubclass(NotFittedError, ValueError)


@pytest.mark.parametrize("L, kwargs, error, match", [
    (np.array([[1, -1], [1, 1]]), {}, ValueError, "at least 3"),
    (np.array([[1, -1, 0], [1, 1, 0]]), {}, ValueError, "LF 2 .* never votes"),
    (np.array([[1, -1, 2], [1, 1, 0]]), {}, ValueError, r"L\[0, 2\] is 2"),
    (np.array([[1, 1, 4], [1, 1, 1]]), {"n_classes": 3}, ValueError, r"L\[0, 2\] is 4"),
    (np.array([[1, -1, 1], [1, 1, -1]]), {"n_classes": 3}, ValueError, "n_classes=3"),
    (np.array([[1, 1, 1], [1, 1, 1]]), {}, ValueError, "fewer than 2 classes"),
    (np.array([[1.5, 1, 1], [1, 1, -1]]), {}, ValueError, "whole numbers"),
    (np.array([["a", "b", "c"]]), {}, TypeError, r"L must hold numbers -1, 0, \+1 or classes 1..K; got dtype <U1"),
    ([[1, -1, 1], [1, 1]], {}, ValueError, r"L is ragged: its rows have different lengths \(2, 3\)"),
    (np.array([[True, False, True]] * 2), {}, TypeError, "L holds booleans"),
    (np.array([[1.0, np.nan, 1.0]] * 2), {}, ValueError, r"L\[0, 1\] is nan; .* fillna\(0\)"),
    (np.array([[1, 2], [1, 1]])[:, :0], {}, ValueError, r"L is empty \(shape \(2, 0\)\)"),
    (np.ones((2, 3, 1), dtype=int), {}, ValueError, r"L must be 2-D .* got shape \(2, 3, 1\)"),
    (np.ones((2, 3), dtype=int), {"smoothing": 0}, ValueError, "smoothing is 0; it must be > 0"),
    (np.ones((2, 3), dtype=int), {"max_iter": 0}, ValueError, "max_iter is 0; it must be a positive int"),
    (np.ones((2, 3), dtype=int), {"max_iter": 2.5}, TypeError, "max_iter must be an int"),
    (np.ones((2, 3), dtype=int), {"smoothing": "1"}, TypeError, "smoothing must be a real number"),
    (np.ones((2, 3), dtype=int), {"init": "kmeans"}, ValueError, "init must be"),
    (np.ones((2, 3), dtype=int), {"n_classes": 1}, ValueError, "n_classes is 1; it must be at least 2"),
    (np.array([[1, -1, 1], [1, 1, -1]]), {"class_prior": "0.5"}, TypeError, "class_prior"),
    (np.array([[1, -1, 1], [1, 1, -1]]), {"class_prior": [0.7, 0.7]}, ValueError, "summing to 1"),
])
def test_bad_input_gets_a_precise_error(L, kwargs, error, match):
    with pytest.raises(error, match=match):
        ClassConditionalLabelModel(**kwargs).fit(L)


def test_predict_checks_the_number_of_lfs():
    L = np.array([[1, -1, 1], [1, 1, -1], [-1, -1, -1]] * 10)
    model = ClassConditionalLabelModel().fit(L)
    with pytest.raises(ValueError, match="fit with 3"):
        model.predict(L[:, :2])


def test_snorkel_convention_round_trips():
    L = np.array([[0, -1, 1], [1, 0, -1]])
    assert np.array_equal(dp.from_snorkel(dp.to_snorkel(L), binary=True), L)
    M = np.array([[0, 1, 3], [2, 0, 1]])
    assert np.array_equal(dp.from_snorkel(dp.to_snorkel(M)), M)


def test_youtube_spam_has_the_snorkel_tutorial_split():
    data = dp.load_youtube_spam()
    assert [len(data.train), len(data.dev), len(data.valid), len(data.test)] == [1586, 100, 120, 250]
    assert set(data.train.video) == {1, 2, 3, 4} and set(data.test.video) == {5}
    assert data.dev.index.isin(data.train.index).all()
    assert set(data.test.label) == {-1, 1}
    # stratified: the test split keeps video 5's spam share (174 of 370)
    assert abs((data.test.label == 1).mean() - 174 / 370) < 0.01
    again = dp.load_youtube_spam()
    assert data.test.text.tolist() == again.test.text.tolist()


def test_youtube_spam_rejects_damaged_files_and_bad_sizes(monkeypatch, tmp_path):
    for path in datasets._data_dir().iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    damaged = tmp_path / "Youtube03-LMFAO.csv"
    damaged.write_bytes(damaged.read_bytes().replace(b",1\n", b",0\n", 1))
    monkeypatch.setattr(datasets, "_data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="Youtube03-LMFAO.csv does not match its SHA-256"):
        datasets.load_youtube_spam()
    monkeypatch.undo()
    with pytest.raises(ValueError, match="dev_size must be"):
        datasets.load_youtube_spam(dev_size=0)
    with pytest.raises(ValueError, match="test_size must be"):
        datasets.load_youtube_spam(test_size=400)


def test_em_warns_when_it_stops_before_converging():
    rng = np.random.default_rng(3)
    L, _ = sample_from_tables(one_class_tables(2, 6, rng), [0.5, 0.5], n=2000, random_state=3)
    with pytest.warns(dp.ConvergenceWarning, match="max_iter=2"):
        model = ClassConditionalLabelModel(max_iter=2).fit(L)
    assert not model.converged_ and model.n_iter_ == 2
