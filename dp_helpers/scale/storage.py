"""L on disk: one Parquet file per block, written and read back lazily."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

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

    Each block becomes ``part.NNNNN.parquet`` with one row per record: its index label
    (``record``) and two list columns, the LFs that voted (``lf``, int32, so any number of LFs
    fits) and their votes (``vote``, int8). A list column is stored as offsets and values, which is CSR itself, so
    reading it back costs no conversion, and abstentions take no space at all.

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
    tasks = [write(part, str(path / f"part.{k:05d}.parquet")) for k, part in enumerate(blocks.parts)]
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


def _write_block(block: LabelBlock, filename: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    L = block.L
    offsets = pa.array(L.indptr.astype(np.int32))
    table = pa.table(
        {
            "record": pa.array(np.asarray(block.index)),
            "lf": pa.ListArray.from_arrays(offsets, pa.array(L.indices.astype(np.int32))),
            "vote": pa.ListArray.from_arrays(offsets, pa.array(L.data.astype(np.int8))),
        }
    )
    metadata = {"index_name": json.dumps(block.index.name)}
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
    import pyarrow.parquet as pq

    table = pq.read_table(filename)
    lf = table.column("lf").combine_chunks()
    vote = table.column("vote").combine_chunks()
    indptr = lf.offsets.to_numpy()
    indptr = indptr - indptr[0]
    L = sp.csr_matrix(
        (vote.flatten().to_numpy().astype(np.int8), lf.flatten().to_numpy().astype(np.int32), indptr),
        shape=(table.num_rows, m),
    )
    name = json.loads((table.schema.metadata or {}).get(b"index_name", b"null"))
    index = pd.Index(table.column("record").to_numpy(), name=name)
    return LabelBlock(L, index, _failure_frame([], index))
