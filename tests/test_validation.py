"""Every bad input gets an error that says what is wrong and where - never a silent NaN."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import dp_helpers as dp

GOOD = np.array([[1, 1, -1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]])


@pytest.mark.parametrize(
    "L, error, message",
    [
        (np.array([[1, 0, 2], [0, 1, 1]]), ValueError, r"L\[0, 2\] is 2; votes must be -1, 0 \(abstain\) or \+1"),
        (np.array([[1, 0, 1], [0, 0.5, 1]]), ValueError, r"L\[1, 1\] is 0.5; votes must be"),
        (np.array([[1, 0, 1], [0, np.nan, 1]]), ValueError, r"L\[1, 1\] is nan; .*not NaN or inf"),
        (np.array([[1, np.inf, 1]]), ValueError, r"L\[0, 1\] is inf"),
        (sp.csr_matrix(np.array([[0, 0, 0], [0, 3, 0]])), ValueError, r"L\[1, 1\] is 3"),
        (sp.csr_matrix(np.array([[0, 0, np.nan]])), ValueError, r"L\[0, 2\] is nan"),
        (np.array([1, 0, -1]), ValueError, r"must be 2-D .* got shape \(3,\); for one LF use"),
        (np.zeros((2, 3, 4)), ValueError, r"must be 2-D"),
        (np.zeros((0, 3)), ValueError, r"L is empty \(shape \(0, 3\)\)"),
        (np.array([["a", "b"]]), TypeError, r"must hold numbers"),
        ("not a matrix", TypeError, r"array-like"),
    ],
)
def test_bad_label_matrix_is_named_and_located(L, error, message):
    with pytest.raises(error, match=message):
        dp.overlap_matrix(L)


def test_duplicate_sparse_entries_that_sum_beyond_one_are_caught():
    L = sp.csr_matrix((np.array([1, 1]), (np.array([0, 0]), np.array([1, 1]))), shape=(2, 3))
    L.has_canonical_format = False
    with pytest.raises(ValueError, match=r"L\[0, 1\] is 2"):
        dp.majority_vote(L)


@pytest.mark.parametrize("method", ["closed_form", "tensorflow"])
def test_fewer_than_three_lfs(method):
    with pytest.raises(ValueError, match="L has 2 LFs; this needs at least 3"):
        dp.LabelModel(method=method).fit(GOOD[:, :2])


def test_lf_that_never_votes():
    L = np.column_stack([GOOD, np.zeros(4, int)])
    with pytest.raises(ValueError, match=r"LF 3 \(column 3 of L\) never votes"):
        dp.LabelModel(method="closed_form").fit(L)


def test_lf_that_overlaps_no_other_lf():
    L = np.array([[1, 1, 1, 0], [1, -1, 1, 0], [-1, 1, 1, 0], [0, 0, 0, 1]])
    # LFs 2 and 3 happen to vote +1 only: the one-class warning comes first, then the error.
    with pytest.raises(ValueError, match="LF 3 never votes on the same point as any other LF"), \
            pytest.warns(dp.OneClassLFWarning):
        dp.LabelModel(method="tensorflow").fit(L)


def test_lf_whose_partners_never_overlap_each_other():
    # LF 3 overlaps LF 0 only; a pair fixes only the product q_0 q_3.
    L = np.array([[1, 1, 1, 0], [1, -1, 1, 0], [-1, 1, 1, 0], [1, 0, 0, 1]])
    with pytest.raises(ValueError, match=r"LF 3 overlaps only LFs \[0\]"), pytest.warns(dp.OneClassLFWarning):
        dp.LabelModel(method="closed_form").fit(L)


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        dp.LabelModel(method="em").fit(GOOD)


@pytest.mark.parametrize("p, message", [([0.5, 1.0, 0.7], r"accuracies\[1\] is 1; .*strictly between 0 and 1"),
                                         ([0.0, 0.6, 0.7], r"accuracies\[0\] is 0;"),
                                         ([0.5, np.nan, 0.7], r"accuracies\[1\] is nan"),
                                         ([[0.5, 0.6], [0.7, 0.8]], r"must be 1-D")])
def test_accuracies_at_zero_or_one_or_nan(p, message):
    with pytest.raises(ValueError, match=message):
        dp.log_odds(p)


def test_accuracies_must_match_number_of_lfs():
    with pytest.raises(ValueError, match="accuracies has 2 entries but L has 3 LFs"):
        dp.posterior(GOOD, [0.6, 0.7])


@pytest.mark.parametrize("prior", [0.0, 1.0, 1.5])
def test_class_prior_outside_unit_interval(prior):
    with pytest.raises(ValueError, match="class_prior is"):
        dp.posterior(GOOD, [0.6, 0.7, 0.8], class_prior=prior)


def test_predict_before_fit_and_with_wrong_width():
    model = dp.LabelModel(method="closed_form")
    with pytest.raises(ValueError, match="not fitted yet"):  # dp.NotFittedError, like scikit-learn's
        model.predict_proba(GOOD)
    model.fit(GOOD)
    with pytest.raises(ValueError, match="L has 4 LFs .* fit with 3"):
        model.predict_proba(np.column_stack([GOOD, GOOD[:, 0]]))


def test_soft_labels_outside_unit_interval():
    with pytest.raises(ValueError, match=r"y_soft\[1\] is -1; soft labels are probabilities"):
        dp.train(dp.build_logistic_regression(2), np.zeros((3, 2)), [1, -1, 1], epochs=1)


def test_n_mismatch_between_features_and_labels():
    with pytest.raises(ValueError, match="y_soft has 4 entries but X has 3 rows"):
        dp.train(dp.build_logistic_regression(2), np.zeros((3, 2)), [0.1, 0.2, 0.3, 0.4], epochs=1)


def test_nan_features():
    X = np.zeros((3, 2))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[2, 1\] is nan; features must be finite"):
        dp.train(dp.build_logistic_regression(2), X, [0.1, 0.2, 0.3], epochs=1)


def test_true_labels_must_be_plus_minus_one():
    with pytest.raises(ValueError, match=r"y\[1\] is 0; true labels must be -1 or \+1"):
        dp.lf_summary(GOOD, y=[1, 0, 1, 1])
    with pytest.raises(ValueError, match="y has 3 labels but L has 4 rows"):
        dp.lf_summary(GOOD, y=[1, -1, 1])


def test_diverging_gradient_descent_is_an_error_not_nan():
    Z = np.full((5, 5), 0.9)
    np.fill_diagonal(Z, 1)
    with pytest.raises(ValueError, match="gradient descent diverged"):
        dp.fit_signed_accuracies_tf(Z, steps=200, learning_rate=5.0)


@pytest.mark.parametrize(
    "L, error, message",
    [
        ([[1, 0, 1], [1, -1]], ValueError, r"L is ragged: its rows have different lengths \(2, 3\)"),
        (np.array([[1 + 0j, 0, 1], [1, -1, 1j]]), TypeError, r"L holds complex numbers"),
        (np.array([[1 + 0j, 0, 1], [1, -1, 1]]), TypeError, r"L holds complex numbers"),
        (sp.coo_array(np.zeros((2, 2, 2))), ValueError, r"got a 3-D sparse array of shape \(2, 2, 2\)"),
        (pd.DataFrame({"a": pd.array([1, None, -1], dtype="Int8"), "b": [1, 1, -1]}), ValueError,
         r"L\[1, 0\] is nan; .*fillna\(0\)"),
        (pd.DataFrame({"a": ["x", "y"]}), TypeError, r"must hold numbers"),
    ],
)
def test_unclear_inputs_get_named_errors(L, error, message):
    with pytest.raises(error, match=message):
        dp.overlap_matrix(L)


def test_nullable_pandas_integer_columns_are_accepted():
    frame = pd.DataFrame({"a": pd.array([1, 0, -1, 1], dtype="Int8"), "b": pd.array([1, 1, -1, 0], dtype="Int64"),
                          "c": pd.array([-1, 1, 1, 1], dtype="Int16")})
    np.testing.assert_array_equal(dp.overlap_matrix(frame), dp.overlap_matrix(frame.to_numpy(dtype=int)))
    model = dp.LabelModel(method="closed_form").fit(pd.concat([frame] * 5, ignore_index=True))
    assert model.predict_proba(frame).shape == (4, 2)
