import numpy as np
import pytest
import tensorflow as tf

import dp_helpers as dp


def test_noise_aware_loss_is_the_expected_logistic_loss():
    logits = np.array([-2.0, 0.3, 1.5, 4.0])
    y_soft = np.array([0.1, 0.5, 0.8, 1.0])
    sigma = 1 / (1 + np.exp(-logits))
    # E over y ~ Bernoulli(y_soft) of the logistic loss of the logit h.
    expected = np.mean(y_soft * np.log1p(np.exp(-logits)) + (1 - y_soft) * np.log1p(np.exp(logits)))
    also = np.mean(-y_soft * np.log(sigma) - (1 - y_soft) * np.log(1 - sigma))
    got = float(dp.noise_aware_loss()(y_soft[:, None], logits[:, None]))
    assert got == pytest.approx(expected, rel=1e-5)
    assert also == pytest.approx(expected, rel=1e-9)


def test_builders_output_one_logit():
    X = np.zeros((5, 7), np.float32)
    assert dp.build_logistic_regression(7)(X).shape == (5, 1)
    mlp = dp.build_mlp(7, hidden=(8, 4), dropout=0.1)
    assert mlp(X).shape == (5, 1)
    assert mlp.count_params() == 7 * 8 + 8 + 8 * 4 + 4 + 4 + 1


@pytest.fixture(scope="module")
def small_problem():
    data = dp.make_synthetic(n=4000, d=100, m=10, random_state=0)
    y_soft = dp.LabelModel(method="closed_form").fit(data.L).predict_proba(data.L)[:, 1]
    return data, y_soft


def test_training_is_deterministic(small_problem):
    data, y_soft = small_problem
    runs = []
    for _ in range(2):
        model = dp.build_mlp(100, hidden=(16,), dropout=0.2)
        history = dp.train(model, data.X, y_soft, epochs=3, random_state=5)
        runs.append((history.history["loss"], dp.predict_proba(model, data.X[:50])[:, 1]))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_noise_aware_model_learns_from_soft_labels(small_problem):
    data, y_soft = small_problem
    model = dp.build_logistic_regression(100)
    history = dp.train(model, data.X[:3500], y_soft[:3500], epochs=10, validation_data=(data.X[3500:], y_soft[3500:]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    proba = dp.predict_proba(model, data.X[3500:])[:, 1]
    assert proba.shape == (500,) and np.all((proba >= 0) & (proba <= 1))
    end_model = dp.accuracy(data.y[3500:], np.sign(proba - 0.5))
    majority = dp.accuracy(data.y[3500:], dp.majority_vote(data.L[3500:]))
    assert end_model > 0.7 and end_model > majority + 0.05


def test_predicting_with_many_models_prints_no_retracing_warning(capfd):
    X = np.zeros((10, 3), np.float32)
    for seed in range(8):
        dp.predict_proba(dp.build_logistic_regression(3, random_state=seed), X)
    assert "retracing" not in capfd.readouterr().err
