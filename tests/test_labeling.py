import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import random_label_matrix

import dp_helpers as dp


@dp.labeling_function
def lf_long(x):
    return 1 if len(x) > 4 else 0


@dp.labeling_function(name="starts_with_a")
def _lf_a(x):
    return -1 if x.startswith("a") else 0


def test_decorator_keeps_name_and_checks_votes():
    assert lf_long.name == "lf_long" and _lf_a.name == "starts_with_a"
    assert lf_long("hello") == 1 and lf_long("hi") == 0

    @dp.labeling_function
    def lf_typo(x):
        return 2

    with pytest.raises(ValueError, match="LF 'lf_typo' returned 2; an LF must return -1, 0"):
        lf_typo("x")


def test_apply_lfs_dense_and_sparse():
    data = ["apple", "ab", "banana", "kiwi"]
    L = dp.apply_lfs([lf_long, _lf_a], data)
    np.testing.assert_array_equal(L, [[1, -1], [0, -1], [1, 0], [0, 0]])
    assert L.dtype == np.int8
    S = dp.apply_lfs([lf_long, _lf_a], data, sparse=True)
    assert sp.issparse(S) and S.dtype == np.int8
    np.testing.assert_array_equal(S.toarray(), L)


def test_apply_lfs_reads_dataframe_rows_by_attribute():
    df = pd.DataFrame({"age": [20, 70, 45], "smoker": [True, False, True]})
    old = dp.labeling_function(lambda x: 1 if x.age > 60 else 0, name="old")
    smoker = dp.labeling_function(lambda x: 1 if x.smoker else -1, name="smoker")
    np.testing.assert_array_equal(dp.apply_lfs([old, smoker], df), [[0, 1], [1, -1], [0, 1]])


def test_apply_lfs_names_the_failing_lf_and_record():
    boom = dp.labeling_function(lambda x: 1 if 10 / x > 1 else 0, name="inverse")
    with pytest.raises(RuntimeError, match="LF 'inverse' failed on record 2: ZeroDivisionError"):
        dp.apply_lfs([boom], [1, 5, 0, 3])
    bad = dp.labeling_function(lambda x: None, name="forgot_return")
    with pytest.raises(ValueError, match=r"LF 'forgot_return' returned None for record 0"):
        dp.apply_lfs([bad], [1])


def test_apply_lfs_needs_lfs():
    with pytest.raises(ValueError, match="at least one labeling function"):
        dp.apply_lfs([], [1, 2])


def brute_force_summary(L, y):
    n, m = L.shape
    rows = []
    for j in range(m):
        votes = [i for i in range(n) if L[i, j] != 0]
        others = lambda i: [L[i, k] for k in range(m) if k != j and L[i, k] != 0]
        rows.append({
            "coverage": len(votes) / n,
            "overlaps": sum(1 for i in votes if others(i)) / n,
            "conflicts": sum(1 for i in votes if any(v != L[i, j] for v in others(i))) / n,
            "correct": sum(1 for i in votes if L[i, j] == y[i]),
        })
    return pd.DataFrame(rows)


def test_lf_summary_matches_brute_force_dense_and_sparse():
    rng = np.random.default_rng(3)
    L = random_label_matrix(rng, 200, 6, coverage=0.3)
    y = rng.choice([-1, 1], size=200)
    expected = brute_force_summary(L, y)
    for matrix in (L, sp.csr_matrix(L)):
        table = dp.lf_summary(matrix, y=y, names=[f"lf{j}" for j in range(6)])
        for column in ("coverage", "overlaps", "conflicts", "correct"):
            np.testing.assert_allclose(table[column].to_numpy(), expected[column].to_numpy(), err_msg=column)
        np.testing.assert_allclose(table["emp_accuracy"], table["correct"] / (table["correct"] + table["incorrect"]))
        assert list(table.index) == [f"lf{j}" for j in range(6)]


def test_lf_summary_polarity_and_silent_lf():
    L = np.array([[1, 0, -1], [1, 0, 1], [0, 0, -1]])
    table = dp.lf_summary(L, y=[1, 1, -1])
    assert table["polarity"].tolist() == [[1], [], [-1, 1]]
    assert np.isnan(table.loc["LF 1", "emp_accuracy"])


@pytest.mark.parametrize("K", [3, 5])
def test_lf_summary_with_k_classes_matches_brute_force(K):
    rng = np.random.default_rng(K)
    L = np.where(rng.random((150, 5)) < 0.4, rng.integers(1, K + 1, size=(150, 5)), 0)
    L[:, 0] = np.where(L[:, 0] != 0, 2, 0)  # a one-class LF
    y = rng.integers(1, K + 1, size=150)
    expected = brute_force_summary(L, y)
    for matrix in (L, sp.csr_matrix(L)):
        table = dp.lf_summary(matrix, y=y, n_classes=K)
        for column in ("coverage", "overlaps", "conflicts", "correct"):
            np.testing.assert_allclose(table[column].to_numpy(), expected[column].to_numpy(), err_msg=column)
        assert table["polarity"].iloc[0] == [2] and set(table["polarity"].iloc[1]) <= set(range(1, K + 1))


def test_lf_summary_with_n_classes_2_reads_both_conventions_like_the_model():
    L = np.array([[1, -1, 0], [1, 1, -1], [0, -1, -1]])
    np.testing.assert_array_equal(dp.lf_summary(L, y=[1, 1, -1], n_classes=2).to_numpy(),
                                  dp.lf_summary(L, y=[1, 1, -1]).to_numpy())
    classes_1_2 = dp.lf_summary(np.where(L == -1, 2, L), y=[1, 1, 2], n_classes=2)
    assert classes_1_2["polarity"].tolist() == [[1], [1, 2], [2]]
    np.testing.assert_allclose(classes_1_2["conflicts"], dp.lf_summary(L)["conflicts"])


@pytest.mark.parametrize("L, kwargs, error, match", [
    ([[1, 2, 0], [3, 3, 0]], {}, ValueError, r"L\[0, 1\] is 2; .* pass n_classes=K"),
    ([[1, 2, 0], [3, 3, 0]], {"n_classes": 2}, ValueError, r"L\[1, 0\] is 3; votes must be 0 \(abstain\) or a class 1..2"),
    ([[1, 2, 0], [3, 3, 0]], {"n_classes": 3, "y": [1, 4]}, ValueError, r"y\[1\] is 4; true labels must be a class 1..3"),
    ([[1, 2, 0], [3, 3, 0]], {"n_classes": 3, "y": [1, 2, 3]}, ValueError, "y has 3 labels but L has 2 rows"),
    ([[1, 2, 0], [3, 3, 0]], {"n_classes": 1}, ValueError, "n_classes is 1; it must be at least 2"),
    ([[1, 2, 0], [3, 3, 0]], {"n_classes": 3.0}, TypeError, "n_classes must be an int"),
])
def test_lf_summary_with_k_classes_refuses_bad_input_by_name(L, kwargs, error, match):
    with pytest.raises(error, match=match):
        dp.lf_summary(L, **kwargs)


def test_apply_lfs_with_k_classes_collects_votes_1_to_k():
    third = dp.labeling_function(lambda x: 3 if x > 5 else 0, name="big", n_classes=3)
    first = dp.labeling_function(lambda x: 1 if x < 0 else 0, name="negative", n_classes=3)
    assert third(7) == 3 and first(7) == 0
    L = dp.apply_lfs([third, first], [7, -1, 2])  # the LFs' own n_classes
    assert L.tolist() == [[3, 0], [0, 1], [0, 0]] and L.dtype == np.int8
    plain = [lambda x: 2 if x > 5 else 0, lambda x: 1]
    np.testing.assert_array_equal(dp.apply_lfs(plain, [7, 1], n_classes=3, sparse=True).toarray(), [[2, 1], [0, 1]])
    table = dp.lf_summary(L, y=[3, 1, 2], n_classes=3)
    assert table["polarity"].tolist() == [[3], [1]] and table["correct"].tolist() == [1, 1]


@pytest.mark.parametrize("lfs, kwargs, error, match", [
    ([lambda x: 2], {}, ValueError, r"returned 2 for record 0; an LF must return -1, 0 \(abstain\) or \+1 \(or, made or applied with n_classes=K, a class 1..K\)"),
    ([lambda x: 4], {"n_classes": 3}, ValueError, r"returned 4 for record 0; an LF must return 0 \(abstain\) or a class 1..3"),
    ([lambda x: -1], {"n_classes": 3}, ValueError, "a class 1..3"),
    ([lambda x: 1], {"n_classes": 1}, ValueError, "n_classes is 1; it must be from 2 to 127"),
    ([lambda x: 1], {"n_classes": "3"}, TypeError, "n_classes must be an int or None"),
    ([dp.labeling_function(lambda x: 1, name="a", n_classes=3), dp.labeling_function(lambda x: 1, name="b", n_classes=4)],
     {}, ValueError, r"different numbers of classes: \{'b': 4\} against n_classes=3"),
])
def test_apply_lfs_with_k_classes_refuses_bad_votes_by_name(lfs, kwargs, error, match):
    with pytest.raises(error, match=match):
        dp.apply_lfs(lfs, [0], **kwargs)


def test_an_lf_declared_for_k_classes_checks_its_vote_when_called():
    lf = dp.labeling_function(lambda x: x, name="echo", n_classes=3)
    assert lf(3) == 3 and dp.LabelingFunction(lf, name="renamed").n_classes == 3
    with pytest.raises(ValueError, match="LF 'echo' returned 4; an LF must return 0 \\(abstain\\) or a class 1..3"):
        lf(4)


def test_lf_summary_names_must_match():
    with pytest.raises(ValueError, match="names has 2 entries but L has 3 LFs"):
        dp.lf_summary(np.ones((2, 3), int), names=["a", "b"])


def test_apply_lfs_refuses_columns_an_lf_cannot_name():
    df = pd.DataFrame({"mean radius": [1.0, 2.0], "ok": [1, 2]})
    lf = dp.labeling_function(lambda x: 0, name="noop")
    with pytest.raises(ValueError, match=r"columns \['mean radius'\] cannot be read by an LF as x.<name>"):
        dp.apply_lfs([lf], df)
