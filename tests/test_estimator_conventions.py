"""Issue 12: scikit-learn conventions, one seed name, no global state, one predict_proba convention."""
import inspect
import os
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import dp_helpers as dp
from dp_helpers import scale


def test_importing_dp_helpers_sets_no_environment_variables():
    code = "import os; before = dict(os.environ); import dp_helpers, dp_helpers.end_model; print(sorted(set(os.environ) - set(before)))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_one_name_for_seeds_across_the_package():
    import dp_helpers.scale.records as records

    functions = [getattr(dp, name) for name in dir(dp) if callable(getattr(dp, name))]
    functions += [getattr(scale, name) for name in scale.__all__] + [records.make_scored_records]
    for f in functions:
        try:
            params = inspect.signature(f).parameters
        except (TypeError, ValueError):
            continue
        assert "seed" not in params, f.__name__


def test_one_predict_proba_convention():
    data = dp.make_synthetic(n=2000, d=3, m=5, random_state=0)
    model = dp.LabelModel(method="closed_form").fit(data.L)
    proba = model.predict_proba(data.L)
    assert proba.shape == (2000, 2) and list(model.classes_) == [-1, 1]
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    net = dp.build_logistic_regression(3)
    assert dp.predict_proba(net, data.X).shape == (2000, 2)
    assert not hasattr(scale, "predict_proba")  # the Dask series of P(y=+1) is scale.soft_labels


def _global_state():
    from tensorflow.python.framework import config

    return (random.getstate(), np.random.get_state()[1].tobytes(), config.is_op_determinism_enabled())


def test_train_changes_no_global_state_and_is_repeatable():
    data = dp.make_synthetic(n=600, d=4, m=5, random_state=1)
    y_soft = dp.LabelModel(method="closed_form").fit(data.L).predict_proba(data.L)[:, 1]
    before = _global_state()
    runs = []
    for _ in range(2):
        model = dp.build_logistic_regression(4, random_state=3)
        history = dp.train(model, data.X, y_soft, epochs=3, batch_size=32, random_state=7)
        runs.append((history.history["loss"], model.get_weights()[0].ravel().tolist()))
    assert _global_state() == before
    assert runs[0] == runs[1]
    other = dp.train(dp.build_logistic_regression(4, random_state=3), data.X, y_soft, epochs=3, batch_size=32, random_state=8)
    assert other.history["loss"] != runs[0][0]  # the seed does pick the shuffling


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(sample_weight=[1.0, np.nan, 1.0]), ValueError, r"sample_weight\[1\] is nan; weights must be finite"),
        (dict(sample_weight=[1.0, -1.0, 1.0]), ValueError, r"sample_weight\[1\] is -1"),
        (dict(sample_weight=[1.0, 1.0]), ValueError, r"one weight per point"),
        (dict(batch_size=0), ValueError, r"batch_size is 0; it must be a positive int"),
        (dict(epochs=0), ValueError, r"epochs is 0"),
        (dict(learning_rate=np.inf), ValueError, r"learning_rate is inf"),
        (dict(random_state=None), TypeError, r"random_state must be an int"),
    ],
)
def test_train_refuses_bad_arguments_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        dp.train(dp.build_logistic_regression(2), np.zeros((3, 2)), [0.1, 0.5, 0.9], epochs=kwargs.pop("epochs", 1), **kwargs)


def _frame(values):
    import dask.dataframe as dd

    return dd.from_pandas(pd.DataFrame({"x0": values, "y_soft": [0.5] * len(values)}), npartitions=2)


def test_stream_names_a_nan_feature_and_bad_arguments():
    import tensorflow as tf

    # raised inside the tf.data generator: TensorFlow re-raises it as InvalidArgumentError, message kept
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=r"features \(partition \d\)\[\d, 0\] is nan"):
        list(scale.soft_label_dataset(_frame([1.0, np.nan, 2.0, 3.0]), ["x0"], batch_size=2, shuffle=False))
    with pytest.raises(ValueError, match="batch_size is 0"):
        scale.soft_label_dataset(_frame([1.0, 2.0]), ["x0"], batch_size=0)
    with pytest.raises(TypeError, match="must be a dask.dataframe.DataFrame.*dd.from_pandas"):
        scale.soft_label_dataset(pd.DataFrame({"x0": [1.0], "y_soft": [0.5]}), ["x0"])
    with pytest.raises(TypeError, match=r"use \['x0'\]"):
        scale.soft_label_dataset(_frame([1.0, 2.0]), "x0")
    # training from it gives the stream's own error back as a ValueError, not TensorFlow's wrapper
    with pytest.raises(ValueError, match=r"^features \(partition \d\)\[\d, 0\] is nan"):
        scale.train_on_stream(dp.build_logistic_regression(1),
                              scale.soft_label_dataset(_frame([1.0, np.nan, 2.0, 3.0]), ["x0"], batch_size=2))


def test_streaming_training_is_repeatable_without_global_seeding():
    frame = _frame(list(np.linspace(-1, 1, 40)))
    before = _global_state()
    losses = []
    for _ in range(2):
        model = dp.build_logistic_regression(1, random_state=0)
        stream = scale.soft_label_dataset(frame, ["x0"], batch_size=8, random_state=2)
        losses.append(scale.train_on_stream(model, stream, epochs=2, learning_rate=0.05).history["loss"])
    assert losses[0] == losses[1] and _global_state() == before
