"""The noise-aware end model: any Keras model trained with cross-entropy against soft labels.

The expected logistic loss under the label model's posterior ``y_soft = P(y=+1 | votes)`` is

    E[loss] = -y_soft * log(sigmoid(h)) - (1 - y_soft) * log(1 - sigmoid(h)),

the binary cross-entropy between ``y_soft`` and the model's ``sigmoid(h)``. Keras computes it
from logits (numerically stable), and it accepts soft targets as they are.
"""
from __future__ import annotations

import random
from typing import Any, Sequence

import numpy as np

from ._validation import check_features, check_int, check_positive_int, check_real, check_soft_labels


def set_seed(random_state: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic, process-wide.

    For a chapter's first cell, where global determinism is wanted. Nothing in ``dp_helpers``
    calls it: :func:`train` seeds its own model and shuffling and changes no global state.

    Examples
    --------
    >>> set_seed(123)
    """
    import tensorflow as tf

    random_state = check_int(random_state, "random_state")
    random.seed(random_state)
    np.random.seed(random_state)
    tf.keras.utils.set_random_seed(random_state)
    tf.config.experimental.enable_op_determinism()


def noise_aware_loss():
    """Binary cross-entropy from logits, which takes soft labels in [0, 1] as targets."""
    import tensorflow as tf

    return tf.keras.losses.BinaryCrossentropy(from_logits=True)


def build_logistic_regression(d: int, l2: float = 0.0, random_state: int = 0):
    """A linear model ``h(x) = w^T x + b`` that outputs a logit; ``random_state`` fixes its initial weights.

    Examples
    --------
    >>> build_logistic_regression(3).count_params()
    4
    """
    import tensorflow as tf

    reg = tf.keras.regularizers.l2(l2) if l2 else None
    return tf.keras.Sequential(
        [tf.keras.Input(shape=(d,)), _dense(1, reg, random_state, name="logit")],
        name="logistic_regression",
    )


def build_mlp(d: int, hidden: Sequence[int] = (64, 32), dropout: float = 0.0, l2: float = 0.0,
              random_state: int = 0):
    """A small multilayer perceptron with ReLU layers and one output logit.

    ``random_state`` fixes the initial weights and the dropout masks.

    Examples
    --------
    >>> build_mlp(10, hidden=(8,)).count_params()
    97
    """
    import tensorflow as tf

    reg = tf.keras.regularizers.l2(l2) if l2 else None
    layers = [tf.keras.Input(shape=(d,))]
    for i, width in enumerate(hidden):
        layers.append(_dense(width, reg, random_state + i, activation="relu"))
        if dropout:
            layers.append(tf.keras.layers.Dropout(dropout, seed=random_state + i))
    layers.append(_dense(1, reg, random_state + len(hidden), name="logit"))
    return tf.keras.Sequential(layers, name="mlp")


def _dense(width: int, reg, seed: int, **kwargs):
    # Seeded initializers: a model built before set_seed() is still the same model every run.
    import tensorflow as tf

    init = tf.keras.initializers.GlorotUniform(seed=seed)
    return tf.keras.layers.Dense(width, kernel_initializer=init, kernel_regularizer=reg, **kwargs)


def train(
    model,
    X: Any,
    y_soft: Any,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    random_state: int = 0,
    validation_data: tuple[Any, Any] | None = None,
    sample_weight: Any = None,
):
    """Fit ``model`` to soft labels with the noise-aware loss; repeatable given ``random_state``.

    No global state changes: the batches are shuffled by a ``tf.data`` pipeline seeded with
    ``random_state`` (a new order every epoch, the same orders every run), and the builders
    (:func:`build_logistic_regression`, :func:`build_mlp`) seed the initial weights. Nothing is
    reseeded process-wide; call :func:`set_seed` yourself for that.

    Parameters
    ----------
    model : keras.Model
        Outputs one logit per point (see :func:`build_logistic_regression`).
    X : array-like of shape (n, d)
    y_soft : array-like of shape (n,)
        Targets ``P(y=+1)`` in [0, 1]; hard 0/1 labels are the special case of full confidence.
    epochs, batch_size : int
        Positive ints.
    learning_rate : float
        Adam's step size, positive.
    random_state : int
        Seeds the shuffling of the batches.
    validation_data : (X_val, y_val) with y_val in [0, 1], optional
        Adds ``val_loss`` to the history.
    sample_weight : array-like of shape (n,), optional
        Finite, non-negative weights, one per point.

    Returns
    -------
    keras.callbacks.History
        ``history.history["loss"]`` holds the training loss per epoch.

    Raises
    ------
    ValueError, TypeError
        If ``X`` and ``y_soft`` disagree on n, ``y_soft`` leaves [0, 1], ``X`` or ``sample_weight``
        is not finite, or a hyperparameter is out of range (named).
    """
    import tensorflow as tf

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_real(learning_rate, "learning_rate", low=0, strict=True)
    random_state = check_int(random_state, "random_state")
    X = check_features(X)
    y_soft = check_soft_labels(y_soft, n=X.shape[0])
    columns = (X, y_soft)
    if sample_weight is not None:
        columns += (check_sample_weight(sample_weight, X.shape[0]),)
    if validation_data is not None:
        X_val = check_features(validation_data[0], name="X_val")
        validation_data = (X_val, check_soft_labels(validation_data[1], n=X_val.shape[0], name="y_val"))
    batches = (
        tf.data.Dataset.from_tensor_slices(columns)
        .shuffle(X.shape[0], seed=random_state, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=noise_aware_loss())
    return model.fit(batches, epochs=epochs, validation_data=validation_data, shuffle=False, verbose=0)  # shuffled above


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    """Weights as float32 (n,), each finite and >= 0."""
    w = np.asarray(sample_weight)
    if w.dtype == object or not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
        raise TypeError(f"sample_weight must hold real numbers; got dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"sample_weight must have one weight per point, shape ({n},); got {w.shape}")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"sample_weight[{i}] is {w[i]}; weights must be finite and >= 0")
    return w.astype(np.float32)


def predict_proba(model, X: Any) -> np.ndarray:
    """Class probabilities for each row of ``X``, shape (n, 2), columns for ``[-1, +1]`` like
    ``LabelModel.predict_proba``: column 1 is ``sigmoid(h(x))``."""
    import tensorflow as tf

    X = check_features(X)
    # Calling the model directly: model.predict builds a new predict function per model,
    # and TensorFlow warns about retracing (on stderr) after a few models.
    logits = [model(X[start : start + 4096], training=False) for start in range(0, X.shape[0], 4096)]
    p_pos = tf.math.sigmoid(tf.concat(logits, axis=0)).numpy().ravel().astype(np.float64)
    return np.column_stack([1.0 - p_pos, p_pos])
