"""L on disk: one Parquet file per block, written and read back lazily."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..overlaps import _DENSE_BEYOND
from .blocks import LabelBlocks, _check_blocks, _compute, _concat_failures
from .lfs import LabelBlock, _failure_frame, _label


# --------------------------------------------------------------------------------------------
# L on disk: Parquet, one file per block
# --------------------------------------------------------------------------------------------

_META = "_label_matrix.json"


def write_label_matrix(
    blocks: LabelBlocks, path: str | Path, *, overwrite: bool = False, progress: bool = False, **compute_kwargs
) -> pd.DataFrame:
    """Compute every block once and store it as Parquet; return the LF failures.

    Each block becomes ``part.NNNNN.parquet``, one row per record, its index label in the
    column ``record``, in one of two layouts, whichever is cheaper for that block:

    - *wide* (many votes per record: at least 20 on average, and at most 4096 LFs): one int8
      column per LF, named after it, 0 where it abstains; ``pd.read_parquet(file)`` shows the
      block of ``L`` as a table. Parquet's dictionary encoding stores each vote in about two bits,
      and reading it back is a copy per column: the dense block goes straight to BLAS for the overlaps.
    - *sparse* (otherwise): two list columns, the LFs that voted (``lf``, int32, so any number
      of LFs fits) and their votes (``vote``, int8). A list column is stored as offsets and
      values, which is CSR itself, and abstentions take no space at all.

    The layout is recorded in each file's metadata (``layout``); files without it, written
    before the wide layout existed, are sparse and read as before.

    Parameters
    ----------
    blocks : LabelBlocks
    path : str or Path
        A directory (created); every worker must be able to write to it.
    overwrite : bool
        A folder that already holds a label matrix is an error (its old parts would mix with the
        new ones); with ``overwrite=True`` its parts and metadata are deleted first. Other files
        are never touched.
    progress : bool
        Print a progress bar to stdout.

    Returns
    -------
    pandas.DataFrame
        The failures (``on_error="skip"``), collected in the same pass.

    Raises
    ------
    FileExistsError
        If ``path`` already holds a label matrix and ``overwrite`` is False.
    """
    import dask

    blocks = _check_blocks(blocks)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _clear_previous(path, overwrite)
    divisions = [_label(d) for d in blocks.divisions]
    known = all(isinstance(d, (int, float, str)) for d in divisions)
    (path / _META).write_text(json.dumps({"lf_names": blocks.lf_names, "divisions": divisions if known else None}))
    write = dask.delayed(_write_block, pure=True)
    tasks = [write(part, str(path / f"part.{k:05d}.parquet"), blocks.lf_names) for k, part in enumerate(blocks.parts)]
    return _concat_failures(_compute(*tasks, progress=progress, **compute_kwargs))


def _clear_previous(path: Path, overwrite: bool) -> None:
    old = sorted(path.glob("part.*.parquet")) + ([path / _META] if (path / _META).exists() else [])
    if not old:
        return
    if not overwrite:
        raise FileExistsError(
            f"{path} already holds a label matrix ({len(old)} files); reading it back would mix old and new "
            "parts. Write to an empty folder, or pass overwrite=True to delete the old parts first"
        )
    for f in old:
        f.unlink()


# A block is stored wide when it has at least this many votes per record on average (where
# dp.overlap_stats switches to dense BLAS products too) and at most _WIDE_MAX_LFS LFs.
_WIDE_MAX_LFS = 4096


def _wide(L: sp.csr_matrix) -> bool:
    n, m = L.shape
    return 0 < n and m <= _WIDE_MAX_LFS and L.nnz >= _DENSE_BEYOND * n


def _write_block(block: LabelBlock, filename: str, lf_names: list | None = None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    L = sp.csr_matrix(block.L) if not sp.issparse(block.L) else block.L
    n, m = L.shape
    record = pa.array(np.asarray(block.index))
    metadata = {"index_name": json.dumps(block.index.name)}
    if _wide(L):
        names = list(lf_names) if lf_names is not None else [f"lf_{j}" for j in range(m)]
        by_lf = L.T.toarray()  # (m, n), C order: each LF's votes contiguous
        columns = [pa.array(by_lf[j]) for j in range(m)]
        table = pa.Table.from_arrays([record, *columns], names=["record", *names])
        metadata["layout"] = "wide"
    else:
        offsets = pa.array(L.indptr.astype(np.int32))
        table = pa.table(
            {
                "record": record,
                "lf": pa.ListArray.from_arrays(offsets, pa.array(L.indices.astype(np.int32))),
                "vote": pa.ListArray.from_arrays(offsets, pa.array(L.data.astype(np.int8))),
            }
        )
        metadata["layout"] = "sparse"
    pq.write_table(table.replace_schema_metadata(metadata), filename, compression="zstd")
    return block.failures


def read_label_matrix(path: str | Path) -> LabelBlocks:
    """Read ``L`` stored by :func:`write_label_matrix`: one lazy block per file.

    Examples
    --------
    >>> from dp_helpers.scale import apply_lfs, vectorized_lf
    >>> import tempfile, dask.dataframe as dd
    >>> df = pd.DataFrame({"x": [3, -1, 1, 4]})
    >>> blocks = apply_lfs(dd.from_pandas(df, npartitions=2), [vectorized_lf(lambda d: np.sign(d["x"]), name="s")])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     failures = write_label_matrix(blocks, folder, scheduler="synchronous")
    ...     read_label_matrix(folder).compute(scheduler="synchronous").L.toarray().ravel().tolist()
    [1, -1, 1, 1]
    """
    import dask

    path = Path(path)
    if not (path / _META).exists():
        raise FileNotFoundError(f"{path} holds no label matrix (no {_META}); write one with scale.write_label_matrix")
    meta = json.loads((path / _META).read_text())
    files = sorted(path.glob("part.*.parquet"))
    read = dask.delayed(_read_block, pure=True)
    parts = [read(str(f), len(meta["lf_names"])) for f in files]
    return LabelBlocks(parts, meta["lf_names"], meta["divisions"])


def _read_block(filename: str, m: int) -> LabelBlock:
    """One stored block: ``L`` as CSR (sparse layout) or as a dense int8 array (wide layout)."""
    import pyarrow.parquet as pq

    table = pq.read_table(filename)
    metadata = table.schema.metadata or {}
    n = table.num_rows
    if metadata.get(b"layout") == b"wide":
        if table.num_columns != m + 1:
            raise ValueError(f"{filename} holds {table.num_columns - 1} LF columns; the label matrix has {m} LFs")
        by_lf = np.empty((m, n), dtype=np.int8)
        for j in range(m):  # one copy per column, contiguous on both sides
            by_lf[j] = table.column(j + 1).to_numpy()
        L = by_lf.T  # (n, m), Fortran order: no transposing copy
    else:
        lf = table.column("lf").combine_chunks()
        vote = table.column("vote").combine_chunks()
        indptr = lf.offsets.to_numpy()
        indptr = indptr - indptr[0]
        L = sp.csr_matrix(
            (vote.flatten().to_numpy().astype(np.int8), lf.flatten().to_numpy().astype(np.int32), indptr),
            shape=(n, m),
        )
    name = json.loads(metadata.get(b"index_name", b"null"))
    index = pd.Index(table.column("record").to_numpy(), name=name)
    return LabelBlock(L, index, _failure_frame([], index))
