"""The end model trained from a stream of soft-labeled partitions (tf.data)."""
from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .._validation import check_features, check_int, check_positive_int, check_real, check_soft_labels
from ..end_model import noise_aware_loss

if TYPE_CHECKING:  # for type hints only: importing dp_helpers must not need Dask
    import dask.dataframe as dd


# --------------------------------------------------------------------------------------------
# The end model, from a stream
# --------------------------------------------------------------------------------------------


def _check_dask_frame(frame, name: str) -> None:
    import dask.dataframe as dd

    if not isinstance(frame, dd.DataFrame):
        raise TypeError(
            f"{name} must be a dask.dataframe.DataFrame; got {type(frame).__name__} "
            "(for a pandas DataFrame use dd.from_pandas(df, npartitions=...), or dp.train in memory)"
        )


def soft_label_dataset(
    frame: "dd.DataFrame",
    features: Sequence[str],
    target: str = "y_soft",
    *,
    batch_size: int = 1024,
    shuffle: bool = True,
    random_state: int = 0,
):
    """A ``tf.data.Dataset`` of ``(X, y_soft)`` batches that computes one partition at a time.

    Every pass (epoch) visits the partitions in a seeded random order and shuffles the rows of
    each, so only one partition (plus TensorFlow's prefetch) is ever in memory, and two runs
    with the same ``random_state`` see the same batches. Batches run across partition boundaries, so all
    but the last have ``batch_size`` rows, and the dataset knows its length (``len(frame)``,
    which Dask reads from Parquet metadata where it can).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        Holds the feature columns and the soft labels, e.g. ``records.assign(y_soft=...)``.
    features : sequence of str
        Columns fed to the model, as float32.
    target : str
        Column of soft labels ``P(y = +1)`` in [0, 1].
    batch_size : int
        Positive.
    shuffle : bool
        Shuffle partitions and rows (seeded) on every pass.
    random_state : int

    Returns
    -------
    tf.data.Dataset
        Elements ``(X, y)`` of shapes ``(batch, len(features))`` and ``(batch,)``.

    Raises
    ------
    TypeError
        If ``frame`` is not a Dask DataFrame, or ``batch_size`` / ``random_state`` not an int.
    ValueError
        If a column is missing or ``batch_size`` < 1; while streaming, if a feature is NaN or
        infinite or a soft label is outside [0, 1] (naming the partition).
    """
    import tensorflow as tf

    _check_dask_frame(frame, "frame")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_int(random_state, "random_state")
    if isinstance(features, str):
        raise TypeError(f"features must be a list of column names; got the single str {features!r}: use [{features!r}]")
    features = list(features)
    missing = [c for c in features + [target] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame has no columns {missing}; it has {list(frame.columns)}")
    parts = frame[features + [target]].to_delayed()
    n = len(frame)
    passes = itertools.count()

    def batches():
        rng = np.random.default_rng([seed, next(passes)])
        order = rng.permutation(len(parts)) if shuffle else range(len(parts))
        X_left, y_left = np.zeros((0, len(features)), np.float32), np.zeros(0, np.float32)
        for k in order:
            part = parts[k].compute()  # one partition in memory
            X = part[features].to_numpy(dtype=np.float32)
            if len(part):
                X = check_features(X, name=f"features (partition {k})")
            y = check_soft_labels(part[target].to_numpy(), name=f"{target} (partition {k})") if len(part) else y_left[:0]
            if shuffle:
                rows = rng.permutation(len(part))
                X, y = X[rows], y[rows]
            X, y = np.concatenate([X_left, X]), np.concatenate([y_left, y])
            full = len(y) - len(y) % batch_size
            for start in range(0, full, batch_size):
                yield X[start : start + batch_size], y[start : start + batch_size]
            X_left, y_left = X[full:], y[full:]
        if len(y_left):
            yield X_left, y_left

    signature = (tf.TensorSpec((None, len(features)), tf.float32), tf.TensorSpec((None,), tf.float32))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size))).prefetch(2)


def train_on_stream(model, dataset, epochs: int = 1, learning_rate: float = 1e-3):
    """Fit ``model`` to a stream of ``(X, y_soft)`` batches with the noise-aware loss.

    The streaming twin of :func:`dp_helpers.train`: same loss (cross-entropy against soft
    labels, from logits), same optimizer (Adam), ``verbose=0``. The stream carries its own
    seed (``soft_label_dataset(..., random_state=...)``) and the model builders seed the
    weights, so nothing global is reseeded.

    Parameters
    ----------
    model : keras.Model
        Outputs one logit per point, e.g. ``dp.build_logistic_regression(d)``.
    dataset : tf.data.Dataset
        Yields ``(X, y_soft)`` batches, e.g. from :func:`soft_label_dataset`.
    epochs, learning_rate : int, float

    Returns
    -------
    keras.callbacks.History

    Raises
    ------
    ValueError
        If the stream's own checks fail while training (a NaN feature, a soft label outside
        [0, 1]), with their message, naming the partition.
    """
    import tensorflow as tf

    epochs = check_positive_int(epochs, "epochs")
    learning_rate = check_real(learning_rate, "learning_rate", low=0, strict=True)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=noise_aware_loss())
    try:
        return model.fit(dataset, epochs=epochs, shuffle=False, verbose=0)  # the stream shuffles itself
    except tf.errors.InvalidArgumentError as err:
        # A check inside the stream's generator reaches us wrapped by TensorFlow; give it back as itself.
        found = re.search(r"ValueError: (.+)", err.message)
        if found is None:
            raise
        raise ValueError(found[1].strip()) from err
