"""Synthetic records, big enough to need partitions, written as Parquet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


# Scores of the synthetic records are stored as int8: round(SCORE_SCALE * value), clipped to +-127.
SCORE_SCALE = 16

# --------------------------------------------------------------------------------------------
# Synthetic records, big enough to need partitions
# --------------------------------------------------------------------------------------------


def _score_signal(m: int, random_state: int) -> np.ndarray:
    """How strongly each score leans towards the label: ``mu_j`` in [-0.05, 0.45]."""
    return np.random.default_rng([random_state, 2**31]).uniform(-0.05, 0.45, size=m)


def make_scored_records(n: int, m: int, *, random_state: int = 0, start: int = 0) -> pd.DataFrame:
    """Records with a hidden label and ``m`` one-byte scores, each a weak hint of the label.

    Record ``i`` has ``y_i = +-1`` (a fair coin) and scores ``s_ij = round(16 (mu_j y_i + e_ij))``
    clipped to +-127 and stored as int8, with ``e_ij ~ Normal(0, 1)`` independent, so that the
    scores are conditionally independent given ``y``. Think of them as the outputs of ``m`` old
    models; an LF that votes where ``|s_j|`` is large is a thresholded weak classifier. The
    signals ``mu_j`` depend only on ``random_state`` and ``m``; the rows on ``random_state`` and ``start``,
    so partitions made separately are independent and reproducible.

    Parameters
    ----------
    n, m : int
        Records and scores.
    random_state : int
    start : int
        ``id`` of the first record; records are numbered ``start, ..., start + n - 1``.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (int64), ``y`` (int8, the truth: for grading only, never for LFs),
        ``s0 ... s{m-1}`` (int8).

    Examples
    --------
    >>> make_scored_records(3, 2, random_state=1).dtypes.astype(str).tolist()
    ['int64', 'int8', 'int8', 'int8']
    """
    mu = _score_signal(m, random_state)
    rng = np.random.default_rng([random_state, start])
    y = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    columns = {"id": np.arange(start, start + n, dtype=np.int64), "y": y}
    for j in range(m):  # column by column keeps the float temporaries at n values
        score = SCORE_SCALE * (np.float32(mu[j]) * y + rng.standard_normal(n, dtype=np.float32))
        columns[f"s{j}"] = np.clip(np.rint(score), -127, 127).astype(np.int8)
    return pd.DataFrame(columns)


def write_scored_records(
    path: str | Path, n: int, m: int, *, partition_size: int = 100_000, random_state: int = 0, **compute_kwargs
) -> list[Path]:
    """Write :func:`make_scored_records` to Parquet, one file per partition, generated in parallel.

    Read them back with ``dd.read_parquet(path, index="id", calculate_divisions=True)``: one
    partition per file, indexed by ``id``, with known divisions.

    Parameters
    ----------
    path : str or Path
        A directory (created).
    n, m : int
        Records and scores.
    partition_size : int
        Records per file.
    random_state : int
    **compute_kwargs
        Passed to ``dask.compute``.

    Returns
    -------
    list of Path
        The files written.
    """
    import dask

    if n < 1 or m < 1 or partition_size < 1:
        raise ValueError(f"n, m and partition_size must be positive; got {n}, {m}, {partition_size}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    files = [path / f"part.{k:05d}.parquet" for k in range(-(-n // partition_size))]
    write = dask.delayed(_write_records_part, pure=True)
    tasks = [
        write(str(f), min(partition_size, n - k * partition_size), m, random_state, k * partition_size)
        for k, f in enumerate(files)
    ]
    dask.compute(*tasks, **compute_kwargs)
    return files


def _write_records_part(filename: str, n: int, m: int, random_state: int, start: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(make_scored_records(n, m, random_state=random_state, start=start), preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), filename, compression="zstd")
