"""Data programming at scale: labeling functions, overlaps and posteriors, one partition at a time.

The label model needs only :class:`~dp_helpers.overlaps.OverlapStats` of ``L``: two m x m integer
matrices that add up over any split of the rows. So a data set too big for one pandas DataFrame is
handled partition by partition with Dask:

1. :func:`apply_lfs` runs the LFs on every partition of a ``dask.dataframe`` and gives
   :class:`LabelBlocks`, one sparse (CSR) block of ``L`` per partition, computed lazily;
2. :func:`overlap_stats` computes the statistics of each block and sums them (a map-reduce), so
   memory stays bounded by a partition, and ``dp.LabelModel().fit(stats)`` never sees ``L``;
3. :func:`soft_labels` applies the fitted model block by block and returns a Dask series of
   ``y_soft = P(y = +1 | votes)``;
4. :func:`soft_label_dataset` streams features and ``y_soft`` to TensorFlow one partition at a
   time, and :func:`train_on_stream` trains the end model from that stream.

LFs come in two kinds: per record (``dp.labeling_function``, as in Snorkel) and vectorized over a
partition's DataFrame (:func:`vectorized_lf`), which is much faster. Dask, pyarrow and TensorFlow
are imported only by the functions that use them.
"""
from __future__ import annotations

from .lfs import VectorizedLF, vectorized_lf, LabelingFunctionError, LabelBlock, label_partition
from .blocks import LabelBlocks, apply_lfs, overlap_stats, soft_labels
from .storage import write_label_matrix, read_label_matrix
from .stream import soft_label_dataset, train_on_stream
from .records import make_scored_records, write_scored_records

__all__ = [
    "VectorizedLF",
    "vectorized_lf",
    "LabelingFunctionError",
    "LabelBlock",
    "LabelBlocks",
    "label_partition",
    "apply_lfs",
    "overlap_stats",
    "soft_labels",
    "write_label_matrix",
    "read_label_matrix",
    "soft_label_dataset",
    "train_on_stream",
    "make_scored_records",
    "write_scored_records",
]
