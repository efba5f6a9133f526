import numpy as np
import pytest
import scipy.sparse as sp
from conftest import random_label_matrix
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dp_helpers as dp

label_matrices = st.integers(2, 6).flatmap(
    lambda m: arrays(np.int8, st.tuples(st.integers(1, 40), st.just(m)), elements=st.sampled_from([-1, 0, 1]))
)


def brute_force_stats(L):
    """Pairwise agreement counts by explicit loops over LF pairs and points."""
    n, m = L.shape
    signed = np.zeros((m, m), int)
    counts = np.zeros((m, m), int)
    for i in range(m):
        for j in range(m):
            for r in range(n):
                if L[r, i] and L[r, j]:
                    counts[i, j] += 1
                    signed[i, j] += 1 if L[r, i] == L[r, j] else -1
    return signed, counts


@settings(max_examples=60, deadline=None)
@given(label_matrices)
def test_overlap_stats_match_brute_force_counts(L):
    stats = dp.overlap_stats(L)
    signed, counts = brute_force_stats(L)
    np.testing.assert_array_equal(stats.signed, signed)
    np.testing.assert_array_equal(stats.counts, counts)


@settings(max_examples=60, deadline=None)
@given(label_matrices)
def test_sparse_and_dense_paths_agree(L):
    dense = dp.overlap_stats(L)
    sparse = dp.overlap_stats(sp.csr_matrix(L))
    np.testing.assert_array_equal(dense.signed, sparse.signed)
    np.testing.assert_array_equal(dense.counts, sparse.counts)


@settings(max_examples=60, deadline=None)
@given(label_matrices)
def test_overlap_matrix_is_symmetric_with_unit_diagonal_and_nan_where_no_overlap(L):
    Z, counts = dp.overlap_matrix(L, return_counts=True)
    np.testing.assert_array_equal(np.isnan(Z), counts == 0)
    np.testing.assert_array_equal(Z, Z.T)  # NaN-aware: equal NaN positions and values
    voting = counts.diagonal() > 0
    np.testing.assert_array_equal(Z.diagonal()[voting], 1.0)
    finite = Z[~np.isnan(Z)]
    assert np.all((finite >= -1) & (finite <= 1))


def test_overlap_matrix_of_the_original_matches_its_formula(original):
    L = original.L.astype(float)
    expected = (L.T @ L) / (np.abs(L).T @ np.abs(L))
    np.testing.assert_allclose(dp.overlap_matrix(original.L), expected, rtol=0, atol=1e-12)


def test_stats_of_partitions_add_up_to_stats_of_the_whole():
    L = random_label_matrix(np.random.default_rng(0), 1000, 7)
    parts = [dp.overlap_stats(L[a:b]) for a, b in [(0, 100), (100, 650), (650, 1000)]]
    total = parts[0] + parts[1] + parts[2]
    whole = dp.overlap_stats(L)
    np.testing.assert_array_equal(total.signed, whole.signed)
    np.testing.assert_array_equal(total.counts, whole.counts)
    assert total.n == 1000


def test_adding_stats_of_different_m_is_refused():
    a = dp.overlap_stats(np.ones((2, 3), int))
    b = dp.overlap_stats(np.ones((2, 4), int))
    with pytest.raises(ValueError, match="3 LFs and 4 LFs"):
        a + b


def test_dense_chunking_is_exact_across_chunk_boundaries(monkeypatch):
    import dp_helpers.overlaps as overlaps

    L = random_label_matrix(np.random.default_rng(1), 1003, 5)
    expected = dp.overlap_stats(L)
    monkeypatch.setattr(overlaps, "_BLAS_ROWS", 100)
    for chunked in (dp.overlap_stats(L), dp.overlap_stats(np.asfortranarray(L)), overlaps._dense_stats(sp.csr_matrix(L))):
        np.testing.assert_array_equal(chunked.signed, expected.signed)
        np.testing.assert_array_equal(chunked.counts, expected.counts)


def test_blas_runs_on_one_thread_inside_the_block_and_is_restored_after_the_last_thread_leaves():
    import threading

    from threadpoolctl import threadpool_info

    import dp_helpers.overlaps as overlaps

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    entered, release = threading.Barrier(3, timeout=30), threading.Event()

    def task():
        with overlaps.single_blas_thread():
            entered.wait()
            release.wait(30)

    threads = [threading.Thread(target=task, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        entered.wait()  # both threads are inside
        inside = blas_threads()
    finally:
        release.set()
        for t in threads:
            t.join()
    assert set(inside) == {1}, (inside, overlaps._blas_users, [(c.filepath, c.num_threads) for c in overlaps._blas_controller().lib_controllers])
    assert blas_threads() == before


def test_never_overlapping_pair_is_nan_not_a_division_by_zero():
    L = np.array([[1, 0, 1], [0, -1, 1], [1, 0, -1]])
    with np.errstate(all="raise"):
        Z = dp.overlap_matrix(L)
    assert np.isnan(Z[0, 1]) and np.isnan(Z[1, 0])
    assert Z[0, 2] == 0.0 and Z[1, 2] == -1.0


@pytest.mark.parametrize("dense_beyond", [0, 10**9])
def test_sparse_l_gives_the_same_stats_by_either_counting_strategy(monkeypatch, dense_beyond):
    import dp_helpers.overlaps as overlaps

    L = random_label_matrix(np.random.default_rng(4), 60, 30, coverage=0.6)
    expected = brute_force_stats(L)
    monkeypatch.setattr(overlaps, "_DENSE_BEYOND", dense_beyond)
    stats = dp.overlap_stats(sp.csr_matrix(L))
    np.testing.assert_array_equal(stats.signed, expected[0])
    np.testing.assert_array_equal(stats.counts, expected[1])
