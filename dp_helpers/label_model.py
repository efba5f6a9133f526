"""The label model: LF accuracies from agreements alone, and the posterior P(y=+1 | votes).

Under conditional independence, ``E[Z_ij] = q_i q_j`` with ``q = 2 p - 1``: the off-diagonal
of ``Z`` is rank one. Fitting ``q`` is a rank-one completion with the diagonal (always 1) and
never-overlapping pairs masked out. ``q`` and ``-q`` fit equally well; we pick the sign that
makes the LFs better than chance on average (``q.sum() >= 0``), the assumption every
data-programming method makes in one form or another.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import (
    check_accuracies,
    check_label_matrix,
    check_lfs_vote,
    check_probability,
)
from .overlaps import OverlapStats, overlap_stats, row_chunks

METHODS = ("tensorflow", "closed_form")


def majority_vote(L: Any) -> np.ndarray:
    """The sign of each row's vote sum: +1, -1, or 0 for a tie or no votes.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)

    Returns
    -------
    ndarray of shape (n,), int8

    Examples
    --------
    >>> majority_vote([[1, 1, -1], [0, 0, 0], [1, -1, 0]]).tolist()
    [1, 0, 0]
    """
    L = check_label_matrix(L)
    totals = np.asarray(L.sum(axis=1, dtype=np.int64)).ravel()
    return np.sign(totals).astype(np.int8)


def log_odds(accuracies: Any) -> np.ndarray:
    """Weights ``w = log(p / (1 - p))``: how many nats of evidence one vote of each LF carries.

    Raises
    ------
    ValueError
        If an accuracy is not strictly between 0 and 1.

    Examples
    --------
    >>> log_odds([0.5, 0.75]).round(3).tolist()
    [0.0, 1.099]
    """
    p = check_accuracies(accuracies)
    return np.log(p) - np.log1p(-p)


def posterior(L: Any, accuracies: Any, class_prior: float = 0.5) -> np.ndarray:
    """``P(y = +1 | votes) = sigmoid(w^T lambda + log(pi / (1 - pi)))`` for every row of ``L``.

    Parameters
    ----------
    L : array-like or scipy.sparse matrix of shape (n, m)
    accuracies : array-like of shape (m,)
        LF accuracies ``p``, each strictly between 0 and 1.
    class_prior : float
        ``pi = P(y = +1)``; 0.5 reproduces the original tutorial.

    Returns
    -------
    ndarray of shape (n,), float64
        A point with no votes gets the prior.

    Examples
    --------
    >>> posterior([[1, 1, 0], [0, 0, 0], [1, -1, 0]], [0.8, 0.8, 0.6]).round(3).tolist()
    [0.941, 0.5, 0.5]
    """
    L = check_label_matrix(L)
    w = log_odds(check_accuracies(accuracies, m=L.shape[1]))
    prior = check_probability(class_prior, "class_prior")
    # Row chunks keep the float copy of L that the product needs small.
    score = np.concatenate([np.asarray(rows @ w).ravel() for rows in row_chunks(L)])
    return _sigmoid(score + np.log(prior / (1 - prior)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a negative number only, so neither branch overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct labels, a 0 (tie or abstain) counting as half right.

    Half credit is the expected accuracy of breaking the tie with a fair coin; it is how
    the original tutorial scored majority vote (0.693) and the label model (0.727).

    Examples
    --------
    >>> accuracy([1, -1, 1, 1], [1, 1, 0, 1])
    0.625
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length; got {y_true.shape} and {y_pred.shape}")
    return float(np.mean(0.5 * (np.sign(y_pred) * y_true + 1)))


def resolve_sign(q: Any, anchor: int | None = None) -> np.ndarray:
    """Return ``q`` or ``-q``, whichever says the LFs are better than chance on average.

    ``q`` and ``-q`` explain the overlaps equally well. By default we keep the one with
    ``q.sum() > 0`` (when the sum is zero to rounding, the one whose largest entry is positive).
    With ``anchor=j`` we keep the one in which LF j, an LF you trust, is better than chance:
    the fix when most LFs may be worse than chance.

    Examples
    --------
    >>> resolve_sign([-0.4, -0.2, 0.1]).tolist()
    [0.4, 0.2, -0.1]
    >>> resolve_sign([0.4, 0.2, -0.1], anchor=2).tolist()
    [-0.4, -0.2, 0.1]
    """
    q = np.asarray(q, dtype=np.float64)
    if anchor is not None:
        if not 0 <= anchor < q.size:
            raise ValueError(f"anchor is LF {anchor}, but there are only {q.size} LFs (0 .. {q.size - 1})")
        if q[anchor] == 0:
            raise ValueError(f"the anchor LF {anchor} has signed accuracy 0 (a coin flip); anchor on another LF")
        return -q if q[anchor] < 0 else q
    total = q.sum()
    if abs(total) <= 1e-9 * np.abs(q).sum():
        total = q[np.argmax(np.abs(q))]
    return -q if total < 0 else q


def _masked_target(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z`` with unusable entries zeroed, and the mask of entries that count."""
    mask = ~np.isnan(Z)
    np.fill_diagonal(mask, False)
    return np.where(mask, Z, 0.0), mask


def check_identifiable(Z: np.ndarray) -> None:
    """Raise unless every LF sits in a triangle of overlapping LFs.

    The pair (i, j) only tells us the product ``q_i q_j``; a third LF k overlapping both
    pins down ``q_i^2 = Z_ij Z_ik / Z_jk``. An LF in no such triangle has no estimate.
    """
    _, mask = _masked_target(Z)
    m = mask.shape[0]
    if m < 3:
        raise ValueError(f"the label model needs at least 3 LFs; got {m}")
    O = mask.astype(np.int64)
    partners = O.sum(axis=1)
    in_triangle = np.diag(O @ O @ O) > 0
    for j in np.flatnonzero(~in_triangle):
        if partners[j] == 0:
            raise ValueError(
                f"LF {j} never votes on the same point as any other LF; its accuracy cannot be "
                "estimated from agreements (raise its coverage or drop it)"
            )
        raise ValueError(
            f"LF {j} overlaps only LFs {np.flatnonzero(O[j]).tolist()}, which never overlap each other; "
            "a pair only fixes the product of two accuracies, a third overlapping LF is needed"
        )


def fit_signed_accuracies_closed_form(Z: np.ndarray) -> np.ndarray:
    """Estimate ``q`` from ``Z`` without an optimizer.

    Every triangle of LFs (i, j, k) gives ``Z_ij Z_ik = q_i^2 Z_jk``. Regressing the left side
    on ``Z_jk`` over all observed pairs (j, k) gives the least-squares estimate
    ``q_i^2 = sum Z_ij Z_ik Z_jk / sum Z_jk^2``, in matrix form a ratio of two diagonals.
    Triangles with a large ``|Z_jk|`` (accurate LFs) carry most of the weight, so nearly
    random LFs do not blow the estimate up as a plain ratio would. With that diagonal (and
    any never-overlapping pair) imputed, ``Z`` is a complete matrix whose leading
    eigenpair ``(mu, v)`` gives ``q = sqrt(mu) v``: two eigendecompositions, no iterations.

    Parameters
    ----------
    Z : ndarray of shape (m, m)
        Overlap matrix; NaN marks pairs that never overlap.

    Returns
    -------
    q : ndarray of shape (m,)
        Signed accuracies, sign resolved with :func:`resolve_sign`.
    """
    M, mask = _masked_target(Z)
    O = mask.astype(np.float64)
    numerator = np.einsum("ij,jk,ki->i", M, M, M)
    denominator = np.einsum("ij,jk,ki->i", O, M * M, O)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_squared = np.where(denominator > 0, numerator / denominator, 0.0)
    magnitude = np.sqrt(np.clip(q_squared, 0.0, 1.0))
    # Signs from the leading eigenvector; then impute the diagonal and any never-overlapping
    # pair from the triplet estimate and take the best rank-one fit of the completed matrix.
    _, vectors = np.linalg.eigh(M + np.diag(magnitude**2))
    q_triplet = np.where(vectors[:, -1] < 0, -magnitude, magnitude)
    completed = np.where(mask, M, np.outer(q_triplet, q_triplet))
    values, vectors = np.linalg.eigh(completed)
    return resolve_sign(vectors[:, -1] * np.sqrt(max(values[-1], 0.0)))


@dataclass
class TFFit:
    """Result of :func:`fit_signed_accuracies_tf`: ``q`` and the loss after every step."""

    q: np.ndarray
    loss_history: np.ndarray = field(repr=False)


def fit_signed_accuracies_tf(
    Z: np.ndarray,
    steps: int = 5000,
    learning_rate: float = 5e-4,
    random_state: int = 0,
    init_mean: float = 0.5,
    init_std: float = 0.15,
) -> TFFit:
    """Minimize ``sum(mask * (Z - q q^T)^2)`` by gradient descent in TensorFlow.

    The defaults are the original tutorial's: 5000 plain gradient steps of size 5e-4 from
    ``q ~ Normal(0.5, 0.15)``. The whole loop runs inside one ``tf.function``.

    Parameters
    ----------
    Z : ndarray of shape (m, m)
        Overlap matrix; NaN marks pairs that never overlap (masked, like the diagonal).
    steps, learning_rate : int, float
        Gradient-descent schedule.
    random_state : int
        Seeds the starting point, so the fit is repeatable.
    init_mean, init_std : float
        The starting point's distribution.

    Returns
    -------
    TFFit
        ``q`` with its sign resolved, and the loss at every step.
    """
    import tensorflow as tf

    target, mask = _masked_target(Z)
    q0 = np.random.default_rng(random_state).normal(init_mean, init_std, size=(Z.shape[0], 1))
    q = tf.Variable(q0, dtype=tf.float32)
    history = _gradient_descent()(
        q,
        tf.constant(target, tf.float32),
        tf.constant(mask, tf.float32),
        tf.constant(learning_rate, tf.float32),
        tf.constant(int(steps)),
    ).numpy()
    q_hat = q.numpy().ravel().astype(np.float64)
    if not np.all(np.isfinite(q_hat)):
        raise ValueError(
            f"gradient descent diverged (learning_rate={learning_rate:g} is too large for this Z); "
            "lower it, or use method='closed_form'"
        )
    return TFFit(resolve_sign(q_hat), history)


@functools.cache
def _gradient_descent():
    """The compiled descent loop, built once per process: a fresh ``tf.function`` per fit makes
    TensorFlow retrace every time (and warn about it after a few fits)."""
    import tensorflow as tf

    @tf.function
    def descend(q, z, w, learning_rate, n_steps):
        losses = tf.TensorArray(tf.float32, size=n_steps)
        for step in tf.range(n_steps):
            with tf.GradientTape() as tape:
                residual = w * (z - q * tf.transpose(q))
                loss = tf.reduce_sum(residual * residual)
            q.assign_sub(learning_rate * tape.gradient(loss, q))
            losses = losses.write(step, loss)
        return losses.stack()

    return descend


class LabelModel:
    """Conditionally independent label model, scikit-learn style.

    Parameters
    ----------
    method : {"tensorflow", "closed_form"}
        How to fit the signed accuracies ``q`` from the overlap matrix.
    class_prior : float
        ``P(y = +1)`` used by the posterior.
    clip : (float, float)
        Fitted accuracies are clipped into this range so that every log-odds weight is
        finite; ``clipped_`` records which ones were.
    steps, learning_rate : int, float
        Passed to :func:`fit_signed_accuracies_tf` (method "tensorflow").
    random_state : int
        Seeds the TensorFlow fit's starting point.
    anchor_lf : int, optional
        An LF known to be better than chance; fixes the sign of ``q`` (see :func:`resolve_sign`).

    Attributes
    ----------
    accuracies_ : ndarray of shape (m,)
        Estimated ``p``, each in (0, 1).
    signed_accuracies_ : ndarray of shape (m,)
        Estimated ``q = 2 p - 1`` before clipping.
    weights_ : ndarray of shape (m,)
        Log-odds ``w = log(p / (1 - p))``.
    overlap_ : ndarray of shape (m, m)
        The ``Z`` the model was fit to.
    loss_history_ : ndarray or None
        Loss per gradient step (method "tensorflow").
    clipped_ : ndarray of shape (m,), bool

    Examples
    --------
    >>> from dp_helpers.synthetic import make_synthetic
    >>> data = make_synthetic(n=100_000, m=10, random_state=0)
    >>> model = LabelModel(method="closed_form").fit(data.L)
    >>> bool(np.abs(model.accuracies_ - data.lf_accuracies).mean() < 0.02)
    True
    """

    def __init__(
        self,
        method: str = "tensorflow",
        class_prior: float = 0.5,
        clip: tuple[float, float] = (0.01, 0.99),
        steps: int = 5000,
        learning_rate: float = 5e-4,
        random_state: int = 0,
        anchor_lf: int | None = None,
    ):
        self.method = method
        self.anchor_lf = anchor_lf
        self.class_prior = class_prior
        self.clip = clip
        self.steps = steps
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, L: Any) -> "LabelModel":
        """Fit accuracies from a label matrix, or from precomputed :class:`OverlapStats`.

        Raises
        ------
        ValueError
            For an invalid ``L``, fewer than 3 LFs, an LF that never votes, or an LF whose
            accuracy is not identifiable because it overlaps too few others.
        """
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        check_probability(self.class_prior, "class_prior")
        if isinstance(L, OverlapStats):
            stats = L
        else:
            stats = overlap_stats(check_label_matrix(L, min_lfs=3))
        check_lfs_vote(np.diag(stats.counts))  # the diagonal counts each LF's votes
        Z = stats.overlap_matrix()
        check_identifiable(Z)  # also: at least 3 LFs, for statistics passed in directly
        self.loss_history_ = None
        if self.method == "closed_form":
            q = fit_signed_accuracies_closed_form(Z)
        else:
            result = fit_signed_accuracies_tf(Z, self.steps, self.learning_rate, self.random_state)
            q, self.loss_history_ = result.q, result.loss_history
        if self.anchor_lf is not None:
            q = resolve_sign(q, anchor=self.anchor_lf)
        low, high = self.clip
        p = (q + 1) / 2
        self.overlap_ = Z
        self.signed_accuracies_ = q
        self.clipped_ = (p < low) | (p > high)
        self.accuracies_ = np.clip(p, low, high)
        self.weights_ = log_odds(self.accuracies_)
        self.n_lfs_ = stats.m
        self.classes_ = np.array([-1, 1])
        return self

    def predict_proba(self, L: Any) -> np.ndarray:
        """Class probabilities for each row of ``L``, shape (n, 2), columns in ``classes_`` order
        (``[-1, +1]``): column 1 is the soft label ``P(y = +1 | votes)``."""
        self._check_fitted()
        L = check_label_matrix(L)
        if L.shape[1] != self.n_lfs_:
            raise ValueError(f"L has {L.shape[1]} LFs (columns) but the model was fit with {self.n_lfs_}")
        p_pos = posterior(L, self.accuracies_, self.class_prior)
        return np.column_stack([1.0 - p_pos, p_pos])

    def predict(self, L: Any, tie_break: str = "random") -> np.ndarray:
        """Hard labels: +1 where the posterior exceeds 0.5, -1 below.

        Parameters
        ----------
        tie_break : {"random", "abstain"}
            A posterior of exactly 0.5 (no votes, or evidence that cancels) becomes a
            seeded fair coin flip, or 0 with "abstain".
        """
        proba = self.predict_proba(L)[:, 1]
        labels = np.sign(proba - 0.5).astype(np.int8)
        if tie_break == "abstain":
            return labels
        if tie_break != "random":
            raise ValueError(f"tie_break must be 'random' or 'abstain'; got {tie_break!r}")
        ties = labels == 0
        coins = np.random.default_rng(self.random_state).integers(0, 2, size=int(ties.sum())) * 2 - 1
        labels[ties] = coins
        return labels

    def _check_fitted(self) -> None:
        if not hasattr(self, "accuracies_"):
            raise RuntimeError("this LabelModel is not fitted yet; call fit(L) first")
