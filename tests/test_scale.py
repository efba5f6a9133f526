"""The Dask layer (dp_helpers.scale) gives the in-memory answers, on a real local cluster too.

The label model only sees the overlap statistics, exact integer sums, so the distributed path
must give the very same Z, and from it the same accuracies and posteriors.
"""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import dp_helpers as dp
from dp_helpers import scale

dd = pytest.importorskip("dask.dataframe")

M = 6
THRESHOLD = 19  # |score| >= 19 on about a quarter of the records


def _threshold_votes(s):
    return np.where(s >= THRESHOLD, 1, np.where(s <= -THRESHOLD, -1, 0))


def vectorized(j):
    return scale.vectorized_lf(lambda df: _threshold_votes(df[f"s{j}"].to_numpy()), name=f"lf_s{j}")


def per_record(j):
    return dp.labeling_function(lambda x: int(_threshold_votes(getattr(x, f"s{j}"))), name=f"lf_s{j}")


@pytest.fixture(scope="module")
def records():
    return scale.make_scored_records(20_000, M, random_state=3).set_index("id")


@pytest.fixture(scope="module")
def mixed_lfs():
    """Four vectorized LFs and two per record: both kinds travel to the workers."""
    return [vectorized(j) for j in range(4)] + [per_record(j) for j in range(4, M)]


@pytest.fixture(scope="module")
def in_memory(records):
    """The reference: dp.apply_lfs record by record on one DataFrame, then the in-memory model."""
    L = dp.apply_lfs([per_record(j) for j in range(M)], records.drop(columns="y"))
    model = dp.LabelModel(method="closed_form").fit(L)
    return L, dp.overlap_stats(L), model, model.predict_proba(L)[:, 1]


@pytest.fixture(scope="class")
def client():
    """A local dask.distributed cluster of two worker processes, loopback only, no dashboard.

    Class-scoped: it lives only while the tests of TestOnACluster run, and every process it
    started must be gone afterwards (except multiprocessing's resource tracker, which the
    standard library keeps for the life of this process).
    """
    distributed = pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    client = distributed.Client(cluster)
    started = [
        p for p in psutil.Process().children(recursive=True)
        if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert len(started) >= 2  # the two workers really are processes
    yield client
    client.close()
    cluster.close()
    _, alive = psutil.wait_procs(started, timeout=30)
    for p in alive:  # only if shutdown failed: do not leave them behind
        p.kill()
    assert not alive, f"worker processes still running after shutdown: {[p.pid for p in alive]}"


def assert_same_stats(a, b):
    np.testing.assert_array_equal(a.signed, b.signed)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.n == b.n


class TestOnACluster:
    """The same answers from two worker processes as from one DataFrame in memory."""

    def test_distributed_path_matches_in_memory_path(self, client, records, mixed_lfs, in_memory):
        L, stats_mem, model_mem, y_soft_mem = in_memory
        blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=5), mixed_lfs)
        stats = scale.overlap_stats(blocks)  # on the cluster: the client is the default scheduler
        assert_same_stats(stats, stats_mem)
        np.testing.assert_array_equal(stats.overlap_matrix(), dp.overlap_matrix(L))  # Z, NaNs included
        model = dp.LabelModel(method="closed_form").fit(stats)
        np.testing.assert_allclose(model.accuracies_, model_mem.accuracies_, rtol=0, atol=1e-12)
        y_soft = scale.soft_labels(blocks, model).compute()
        assert y_soft.name == "y_soft"
        pd.testing.assert_index_equal(y_soft.index, records.index, exact=True)
        np.testing.assert_allclose(y_soft.to_numpy(), y_soft_mem, rtol=0, atol=1e-12)

    def test_failures_are_collected_on_the_cluster(self, client, records):
        lfs = [vectorized(0), dp.labeling_function(lambda x: 1 // (x.s1 % 7), name="lf_mod7")]
        failures = scale.apply_lfs(dd.from_pandas(records, npartitions=4), lfs, on_error="skip").failures()
        expected = records.index[records["s1"] % 7 == 0]
        assert failures["lf"].eq("lf_mod7").all()
        np.testing.assert_array_equal(np.sort(failures["record"].to_numpy()), expected.to_numpy())

    def test_a_failing_lf_on_a_worker_names_the_lf_and_the_record(self, client, records):
        lf = dp.labeling_function(lambda x: 1 // (x.s1 % 7), name="lf_mod7")
        first = int(records.index[records["s1"] % 7 == 0][0])
        blocks = scale.apply_lfs(dd.from_pandas(records.iloc[: first + 1], npartitions=1), [lf])
        with pytest.raises(scale.LabelingFunctionError, match=rf"LF 'lf_mod7' failed on record {first}: ZeroDivisionError") as info:
            blocks.compute()
        assert (info.value.lf, info.value.record) == ("lf_mod7", first)

    def test_progress_bar_goes_to_stdout_on_the_cluster(self, client, records, capsys):
        blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=2), [vectorized(0)])
        scale.overlap_stats(blocks, progress=True)
        captured = capsys.readouterr()
        assert "100%" in captured.out and captured.err == ""


def test_statistics_do_not_depend_on_the_partitioning(records, mixed_lfs, in_memory):
    for npartitions in (1, 3, 8):
        blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=npartitions), mixed_lfs)
        assert_same_stats(scale.overlap_stats(blocks, scheduler="synchronous"), in_memory[1])


def test_persisted_blocks_give_the_same_statistics_and_failures(records, in_memory):
    lfs = [per_record(j) for j in range(M - 1)] + [dp.labeling_function(lambda x: 1 // (x.s1 % 7), name="lf_mod7")]
    blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=3), lfs, on_error="skip").persist(scheduler="synchronous")
    assert all(isinstance(part.compute(), scale.LabelBlock) for part in blocks.parts)
    stats = scale.overlap_stats(blocks, scheduler="synchronous")
    np.testing.assert_array_equal(stats.counts[:-1, :-1], in_memory[1].counts[:-1, :-1])
    assert len(blocks.failures(scheduler="synchronous")) == int((records["s1"] % 7 == 0).sum())


def test_progress_bar_of_the_local_scheduler_goes_to_stdout(records, capsys):
    blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=2), [vectorized(0)])
    scale.overlap_stats(blocks, progress=True, scheduler="threads")
    captured = capsys.readouterr()
    assert "100% Completed" in captured.out and captured.err == ""


def test_per_record_and_vectorized_lfs_give_the_same_votes(records):
    part = records.iloc[:3000]
    a = scale.label_partition(part, [per_record(j) for j in range(M)]).L
    b = scale.label_partition(part, [vectorized(j) for j in range(M)]).L
    assert (a != b).nnz == 0 and a.nnz > 0


def test_failing_per_record_lf_names_the_lf_and_the_record():
    df = pd.DataFrame({"text": ["fine", None, "ok"]}, index=["r1", "r2", "r3"])
    lf = dp.labeling_function(lambda x: 1 if x.text.startswith("f") else 0, name="lf_starts_f")
    with pytest.raises(scale.LabelingFunctionError, match=r"LF 'lf_starts_f' failed on record 'r2': AttributeError") as info:
        scale.label_partition(df, [lf])
    assert (info.value.lf, info.value.record) == ("lf_starts_f", "r2")
    assert isinstance(info.value, RuntimeError)  # as dp.apply_lfs raises


def test_failing_vectorized_lf_names_the_first_failing_record():
    df = pd.DataFrame({"x": [1.0, 2.0, -1.0, 3.0, -2.0, 4.0, 5.0]}, index=range(10, 17))

    @scale.vectorized_lf
    def lf_log(df):
        if (df["x"] <= 0).any():
            raise ValueError("log of a non-positive number")
        return np.where(np.log(df["x"]) > 1, 1, 0)

    with pytest.raises(scale.LabelingFunctionError, match=r"LF 'lf_log' failed on record 12: ValueError: log of"):
        scale.label_partition(df, [lf_log])


def test_skip_mode_abstains_where_lfs_fail_and_collects_the_failures():
    df = pd.DataFrame({"x": [1.0, 2.0, -1.0, 3.0, -2.0, 4.0, 5.0, 9.0]}, index=list("abcdefgh"))

    @scale.vectorized_lf
    def lf_log(df):
        if (df["x"] <= 0).any():
            raise ValueError("log of a non-positive number")
        return np.where(np.log(df["x"]) > 1, 1, -1)

    lf_inverse = dp.labeling_function(lambda r: 1 if 1 / (r.x - 4) > 0 else -1, name="lf_inverse")
    lf_sign = scale.vectorized_lf(lambda df: np.sign(df["x"]), name="lf_sign")
    block = scale.label_partition(df, [lf_log, lf_inverse, lf_sign], on_error="skip")
    L = block.L.toarray()
    np.testing.assert_array_equal(L[:, 0], [-1, -1, 0, 1, 0, 1, 1, 1])
    np.testing.assert_array_equal(L[:, 1], [-1, -1, -1, -1, -1, 0, 1, 1])
    np.testing.assert_array_equal(L[:, 2], np.sign(df["x"]))  # unaffected by the others' failures
    table = block.failures.sort_values(["lf", "record"]).reset_index(drop=True)
    assert table["lf"].tolist() == ["lf_inverse", "lf_log", "lf_log"]
    assert table["record"].tolist() == ["f", "c", "e"]
    assert table["error"].tolist() == ["ZeroDivisionError: float division by zero"] + ["ValueError: log of a non-positive number"] * 2


def test_an_empty_partition_gives_an_empty_block_without_calling_the_lfs(records):
    def fragile(df):
        return np.where(df["s0"].iloc[0] > 0, 1, 0) * np.ones(len(df), int)  # fails on no rows

    block = scale.label_partition(records.iloc[:0], [scale.vectorized_lf(fragile, name="lf_fragile"), per_record(1)])
    assert block.L.shape == (0, 2) and len(block.failures) == 0
    stats = scale.overlap_stats(scale.apply_lfs(dd.from_pandas(records.iloc[:0], npartitions=1), [vectorized(0)]), scheduler="synchronous")
    assert stats.n == 0 and stats.counts.sum() == 0


def test_skip_mode_without_failures_returns_an_empty_table(records):
    block = scale.label_partition(records.iloc[:50], [vectorized(0)], on_error="skip")
    assert list(block.failures.columns) == ["lf", "record", "error"] and len(block.failures) == 0


@pytest.mark.parametrize(
    "output, error, message",
    [
        (lambda df: np.ones(len(df) - 1), ValueError, r"LF 'lf_bad' returned 3 votes for a partition of 4 records"),
        (lambda df: np.array([0, 1, 2, 0]), ValueError, r"LF 'lf_bad' returned 2 for record 'c'; votes must be -1, 0"),
        (lambda df: np.array([0, 1, np.nan, 0]), ValueError, r"returned nan for record 'c'.*not NaN"),
        (lambda df: pd.Series([0, 1, None, 0], dtype="Int8", index=df.index), ValueError, r"returned nan for record 'c'"),
        (lambda df: df["x"] > 0, TypeError, r"LF 'lf_bad' returned booleans; .*np.where"),
        (lambda df: df, TypeError, r"returned a DataFrame"),
        (lambda df: 1, ValueError, r"returned a single value \(1\)"),
        (lambda df: np.array(["1", "0", "0", "1"]), TypeError, r"returned dtype <U1"),
    ],
    ids=["length", "value", "nan", "pandas-na", "bool", "dataframe", "scalar", "strings"],
)
def test_vectorized_lf_output_is_validated(output, error, message):
    df = pd.DataFrame({"x": [1, -2, 3, 0]}, index=list("abcd"))
    with pytest.raises(error, match=message):
        scale.label_partition(df, [scale.vectorized_lf(output, name="lf_bad")], on_error="skip")


def test_vectorized_lf_accepts_series_and_float_votes():
    df = pd.DataFrame({"x": [1, -2, 3, 0]})
    lf = scale.vectorized_lf(lambda df: np.sign(df["x"]).astype(float), name="lf_sign")
    assert lf(df).dtype == np.int8 and lf(df).tolist() == [1, -1, 1, 0]


def test_invalid_per_record_vote_raises_even_in_skip_mode():
    df = pd.DataFrame({"x": [1, 5]}, index=[7, 8])
    lf = dp.labeling_function(lambda r: 2 if r.x > 3 else 0, name="lf_two")
    with pytest.raises(ValueError, match=r"LF 'lf_two' returned 2 for record 8"):
        scale.label_partition(df, [lf], on_error="skip")


def test_lf_lists_and_options_are_checked(records):
    ddf = dd.from_pandas(records, npartitions=2)
    with pytest.raises(ValueError, match=r"unique.*\['lf_s0'\]"):
        scale.apply_lfs(ddf, [vectorized(0), per_record(0)])
    with pytest.raises(ValueError, match=r"on_error must be one of \('raise', 'skip'\); got 'ignore'"):
        scale.apply_lfs(ddf, [vectorized(0)], on_error="ignore")
    with pytest.raises(TypeError, match=r"wrap a single LF in a list"):
        scale.apply_lfs(ddf, vectorized(0))
    with pytest.raises(TypeError, match=r"dask.dataframe.DataFrame; got DataFrame .*dd.from_pandas"):
        scale.apply_lfs(records, [vectorized(0)])
    with pytest.raises(ValueError, match="at least one labeling function"):
        scale.label_partition(records, [])


def test_soft_labels_checks_the_model(records):
    blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=2), [vectorized(j) for j in range(M)])
    with pytest.raises(dp.NotFittedError, match="not fitted"):
        scale.soft_labels(blocks, dp.LabelModel())
    three = dp.LabelModel(method="closed_form").fit(dp.make_synthetic(n=500, m=3, random_state=0).L)
    with pytest.raises(ValueError, match="fit with 3 LFs but the blocks have 6"):
        scale.soft_labels(blocks, three)


def test_label_matrix_round_trips_through_parquet(tmp_path, records, mixed_lfs):
    blocks = scale.apply_lfs(dd.from_pandas(records, npartitions=3), mixed_lfs)
    failures = scale.write_label_matrix(blocks, tmp_path / "L", scheduler="synchronous")
    assert len(failures) == 0
    stored = scale.read_label_matrix(tmp_path / "L")
    assert stored.lf_names == blocks.lf_names and stored.divisions == blocks.divisions
    a, b = blocks.compute(scheduler="synchronous"), stored.compute(scheduler="synchronous")
    assert (a.L != b.L).nnz == 0 and b.L.dtype == np.int8
    pd.testing.assert_index_equal(a.index, b.index, exact="equiv")  # a RangeIndex may come back as Index
    with pytest.raises(FileNotFoundError, match="holds no label matrix"):
        scale.read_label_matrix(tmp_path)


def test_scored_records_are_reproducible_partition_by_partition(tmp_path):
    files = scale.write_scored_records(tmp_path / "a", n=2500, m=3, partition_size=1000, random_state=5, scheduler="synchronous")
    assert [f.name for f in files] == ["part.00000.parquet", "part.00001.parquet", "part.00002.parquet"]
    back = dd.read_parquet(tmp_path / "a", index="id", calculate_divisions=True)
    assert back.npartitions == 3 and back.divisions == (0, 1000, 2000, 2499)
    whole = back.compute()
    second = scale.make_scored_records(1000, 3, random_state=5, start=1000).set_index("id")
    pd.testing.assert_frame_equal(whole.loc[1000:1999], second)
    # The scores lean towards y, each with its own strength: conditional independence by design.
    assert set(np.unique(whole["y"])) == {-1, 1}
    assert whole.filter(like="s").abs().max().max() <= 127


def soft_frame(n=1000, npartitions=4):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n)})
    df["y_soft"] = 1 / (1 + np.exp(-2 * df["x0"]))
    return dd.from_pandas(df, npartitions=npartitions), df


def test_soft_label_stream_yields_every_row_once_per_epoch_in_a_seeded_order():
    pytest.importorskip("tensorflow")
    frame, df = soft_frame()
    dataset = scale.soft_label_dataset(frame, ["x0", "x1"], batch_size=64, random_state=1)
    epochs = [[(X.numpy(), y.numpy()) for X, y in dataset] for _ in range(2)]
    for batches in epochs:
        X = np.concatenate([b[0] for b in batches])
        assert [len(b[0]) for b in batches] == [64] * 15 + [40]  # batches run across partitions
        np.testing.assert_array_equal(np.sort(X[:, 0]), np.sort(df["x0"].to_numpy(np.float32)))
    assert not np.array_equal(epochs[0][0][0], epochs[1][0][0])  # reshuffled every epoch
    again = [(X.numpy(), y.numpy()) for X, y in scale.soft_label_dataset(frame, ["x0", "x1"], batch_size=64, random_state=1)]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in again]), np.concatenate([b[1] for b in epochs[0]]))
    with pytest.raises(ValueError, match=r"no columns \['x9'\]"):
        scale.soft_label_dataset(frame, ["x9"])


def test_end_model_trains_deterministically_from_the_stream():
    pytest.importorskip("tensorflow")
    frame, df = soft_frame()
    weights = []
    for _ in range(2):
        model = dp.build_logistic_regression(2, random_state=0)
        history = scale.train_on_stream(model, scale.soft_label_dataset(frame, ["x0", "x1"], batch_size=50), epochs=3, learning_rate=0.05)
        weights.append(model.get_weights()[0].ravel())
    assert history.history["loss"][-1] < history.history["loss"][0]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert weights[0][0] > 1 and abs(weights[0][1]) < 0.5  # learns that only x0 matters


def test_many_votes_per_record_are_stored_wide_and_give_identical_results(tmp_path):
    """At >= 20 votes per record L is stored as one int8 column per LF and read back dense;
    the statistics are identical and the posteriors agree to 1e-12 with the in-memory path."""
    import pyarrow.parquet as pq

    m = 30
    data = dp.make_synthetic(n=3000, m=m, random_state=2)
    L = np.where(np.random.default_rng(0).random(data.L.shape) < 0.8, np.sign(data.L + 0.5), data.L).astype(np.int8)
    df = pd.DataFrame(L, columns=[f"v{j}" for j in range(m)], index=pd.RangeIndex(3000, name="id"))
    lfs = [scale.vectorized_lf(lambda d, j=j: d[f"v{j}"].to_numpy(), name=f"copy_{j}") for j in range(m)]
    blocks = scale.apply_lfs(dd.from_pandas(df, npartitions=3), lfs)
    scale.write_label_matrix(blocks, tmp_path / "L", scheduler="synchronous")
    first = pq.read_table(sorted((tmp_path / "L").glob("part.*.parquet"))[0])
    assert first.schema.metadata[b"layout"] == b"wide" and first.column_names == ["record", *blocks.lf_names]
    stored = scale.read_label_matrix(tmp_path / "L")
    block = stored.parts[0].compute(scheduler="synchronous")
    assert isinstance(block.L, np.ndarray) and block.L.dtype == np.int8
    back = stored.compute(scheduler="synchronous")
    assert (back.L != sp.csr_matrix(L)).nnz == 0 and back.L.format == "csr"
    expected = dp.overlap_stats(L)
    stats = scale.overlap_stats(stored, scheduler="synchronous")
    assert_same_stats(stats, expected)
    model = dp.LabelModel(method="closed_form").fit(stats)
    y_soft = scale.soft_labels(stored, model).compute(scheduler="synchronous")
    np.testing.assert_allclose(y_soft.to_numpy(), model.predict_proba(L)[:, 1], rtol=0, atol=1e-12)


def test_label_matrix_written_before_the_wide_layout_is_still_read(tmp_path):
    """Files without a layout in their metadata hold the sparse list columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from dp_helpers.scale.storage import _read_block

    offsets = pa.array(np.array([0, 2, 2, 3], np.int32))
    table = pa.table({
        "record": pa.array(np.array([10, 11, 12])),
        "lf": pa.ListArray.from_arrays(offsets, pa.array(np.array([0, 2, 1], np.int32))),
        "vote": pa.ListArray.from_arrays(offsets, pa.array(np.array([1, -1, 1], np.int8))),
    })
    pq.write_table(table.replace_schema_metadata({"index_name": '"id"'}), tmp_path / "part.00000.parquet")
    block = _read_block(str(tmp_path / "part.00000.parquet"), 3)
    assert block.L.toarray().tolist() == [[1, 0, -1], [0, 0, 0], [0, 1, 0]]
    assert block.index.tolist() == [10, 11, 12] and block.index.name == "id"
