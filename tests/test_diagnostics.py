import numpy as np
import pytest

import dp_helpers as dp


def test_residuals_vanish_for_exact_rank_one():
    q = np.array([0.4, 0.2, 0.6, 0.3])
    Z = np.outer(q, q)
    np.fill_diagonal(Z, 1)
    R = dp.overlap_residuals(Z, q)
    assert np.all(np.isnan(np.diag(R)))
    np.testing.assert_allclose(R[~np.isnan(R)], 0, atol=1e-12)


def test_duplicated_lfs_are_flagged_and_independent_ones_are_not():
    data = dp.make_synthetic(n=20_000, m=10, duplicates={0: 2}, random_state=3)
    model = dp.LabelModel(method="closed_form").fit(data.L)
    pairs = dp.correlated_pairs(data.L, model.signed_accuracies_, threshold=5)
    flagged = {frozenset((a, b)) for a, b in zip(pairs.lf_j, pairs.lf_k)}
    copies = {frozenset(("LF 0", "LF 10")), frozenset(("LF 0", "LF 11")), frozenset(("LF 10", "LF 11"))}
    assert copies <= flagged
    clean = dp.make_synthetic(n=20_000, m=10, random_state=3)
    clean_model = dp.LabelModel(method="closed_form").fit(clean.L)
    assert len(dp.correlated_pairs(clean.L, clean_model.signed_accuracies_, threshold=5)) == 0


def test_z_scores_are_standard_normal_under_independence():
    data = dp.make_synthetic(n=50_000, m=12, random_state=11)
    q_true = 2 * data.lf_accuracies - 1
    table = dp.correlated_pairs(data.L, q_true, threshold=-1)  # every pair
    assert len(table) == 66
    assert abs(table.z.mean()) < 0.4
    assert 0.7 < table.z.std() < 1.3


@pytest.mark.parametrize("balance", [0.2, 0.5, 0.85])
def test_class_prior_is_recovered_from_votes(balance):
    data = dp.make_synthetic(n=100_000, m=10, class_balance=balance, random_state=5)
    estimate = dp.estimate_class_prior(data.L, data.lf_accuracies)
    assert abs(estimate - balance) < 0.02


def test_class_prior_needs_informative_lfs():
    with pytest.raises(ValueError, match="say nothing about the class balance"):
        dp.estimate_class_prior(np.array([[1, -1, 1], [1, 1, 0]]), [0.5, 0.5, 0.5])


def test_z_scores_stay_finite_and_modest_when_q_touches_one():
    # An unclipped fit can return |q| >= 1; a tiny residual must not become a huge z.
    rng = np.random.default_rng(0)
    y = rng.choice([-1, 1], size=400)
    L = np.stack([y, y, np.where(rng.random(400) < 0.9, y, -y)], axis=1)
    table = dp.correlated_pairs(L, [1.01, 0.99, 0.8], threshold=-1)
    assert np.all(np.isfinite(table.z)) and np.abs(table.z).max() < 25
