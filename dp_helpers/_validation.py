"""Input checks shared by every public function.

Each check raises ``ValueError`` or ``TypeError`` with a message that names
what was wrong, where, and what was expected, so that a learner who passes a
bad label matrix sees the cause instead of a NaN three steps later.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

VALID_VOTES = (-1, 0, 1)


def is_sparse(L: Any) -> bool:
    return sp.issparse(L)


N_CLASSES_HINT = "; for K > 2 classes voted as 1..K, pass n_classes=K"


def check_label_matrix(L: Any, *, min_lfs: int = 1, name: str = "L", n_classes_hint: bool = False) -> Any:
    """Return ``L`` as an int8 ndarray or a CSR matrix, after checking it.

    Votes must be -1, 0 (abstain) or +1; L must be 2-D, non-empty and finite. With
    ``n_classes_hint`` (for functions that take ``n_classes``), a vote error also says that votes
    1..K need ``n_classes=K``.
    """
    L, values = as_label_array(L, name=name)
    m = L.shape[1]
    if m < min_lfs:
        raise ValueError(
            f"{name} has {m} LF{'s' if m != 1 else ''}; this needs at least {min_lfs} "
            "(accuracies are identified from agreements among three or more LFs)"
        )
    _check_vote_values(L, values, name, N_CLASSES_HINT if n_classes_hint else "")
    if is_sparse(L):
        if L.dtype != np.int8:
            L = L.astype(np.int8)
        if (L.data == 0).any():
            L = L.copy()
            L.eliminate_zeros()
        return L
    return L.astype(np.int8, copy=False)


def as_label_array(L: Any, *, name: str = "L", votes: str = "-1, 0 or +1") -> tuple[Any, np.ndarray]:
    """``L`` as a numeric ndarray or a canonical CSR matrix, and its stored values; the shape checks
    every label model shares (array-like, rectangular, real numbers, 2-D, non-empty), not the votes'
    values. ``votes`` says in errors what the votes should be."""
    if is_sparse(L):
        if L.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n points x m LFs); got a {L.ndim}-D sparse array of shape {L.shape}")
        if np.iscomplexobj(L.data):
            raise TypeError(f"{name} holds complex numbers (dtype {L.dtype}); votes are the real numbers {votes}")
        L = L if L.format == "csr" else sp.csr_matrix(L)
        if not L.has_canonical_format:
            L = L.copy()
            L.sum_duplicates()  # before the value check: two stored +1s in a cell make a 2
        values = L.data
        if L.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n points x m LFs); got {L.ndim} dimensions")
    else:
        if isinstance(L, (str, bytes)) or not hasattr(L, "__len__") and not hasattr(L, "__array__"):
            raise TypeError(f"{name} must be an array-like or a scipy.sparse matrix; got {type(L).__name__}")
        if hasattr(L, "to_numpy") and hasattr(L, "dtypes"):  # a DataFrame, nullable integer columns included
            try:
                L = L.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must hold numbers {votes}; got columns of dtypes {sorted(set(map(str, L.dtypes)))}") from None
        try:
            L = np.asarray(L)
        except ValueError:
            lengths = sorted({len(row) for row in L if hasattr(row, "__len__")})
            raise ValueError(
                f"{name} is ragged: its rows have different lengths ({', '.join(map(str, lengths))}); "
                "every row needs one vote per LF (0 where the LF abstains)"
            ) from None
        if np.iscomplexobj(L):
            raise TypeError(f"{name} holds complex numbers (dtype {L.dtype}); votes are the real numbers {votes}")
        if L.dtype == object:
            try:  # e.g. a list of nullable pandas Series: numbers, pandas.NA for missing
                L = np.asarray(pd.DataFrame(list(L)).to_numpy(dtype=np.float64, na_value=np.nan)) if L.ndim == 2 else L
            except (TypeError, ValueError):
                pass
        if L.dtype == object or not (np.issubdtype(L.dtype, np.number) or L.dtype == bool):
            raise TypeError(f"{name} must hold numbers {votes}; got dtype {L.dtype}")
        if L.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D (n points x m LFs); got shape {L.shape}"
                + ("; for one LF use L.reshape(-1, 1)" if L.ndim == 1 else "")
            )
        values = L
    if 0 in L.shape:
        raise ValueError(f"{name} is empty (shape {L.shape}); it needs at least one point and one LF")
    return L, values


def _check_vote_values(L: Any, values: np.ndarray, name: str, hint: str = "") -> None:
    values = np.asarray(values)
    if values.size == 0:
        return
    if np.issubdtype(values.dtype, np.integer) or values.dtype == bool:
        # min/max allocate nothing: the common case stays free for large L
        if values.min() >= -1 and values.max() <= 1:
            return
    elif np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.complexfloating):
        finite = np.isfinite(values)
        if not finite.all():
            flat = np.flatnonzero(~finite.ravel())[0]
            bad = values.ravel()[flat]
            raise ValueError(
                f"{name}[{_position(L, flat, values)}] is {bad}; votes must be -1, 0 (abstain) or +1, not NaN or inf"
                + (" (a missing vote is an abstention: fillna(0))" if np.isnan(bad) else "") + hint
            )
    ok = (values == -1) | (values == 0) | (values == 1)
    if not np.all(ok):
        flat = np.flatnonzero(~np.asarray(ok).ravel())[0]
        bad = np.asarray(values).ravel()[flat]
        shown = int(bad) if float(bad).is_integer() else bad
        raise ValueError(f"{name}[{_position(L, flat, values)}] is {shown}; votes must be -1, 0 (abstain) or +1{hint}")


def _position(L: Any, flat_index: int, values: np.ndarray) -> str:
    """Row, column of the flat_index-th stored value, for error messages."""
    if is_sparse(L):
        row = int(np.searchsorted(L.indptr, flat_index, side="right") - 1)
        return f"{row}, {int(L.indices[flat_index])}"
    i, j = np.unravel_index(flat_index, np.shape(values))
    return f"{i}, {j}"


def check_lfs_vote(votes_per_lf: np.ndarray, name: str = "L") -> None:
    """Raise if some LF never votes (its count of votes is 0): it carries no information."""
    silent = np.flatnonzero(np.asarray(votes_per_lf) == 0)
    if silent.size:
        raise ValueError(
            f"LF {int(silent[0])} (column {int(silent[0])} of {name}) never votes"
            + (f", nor do LFs {silent[1:].tolist()}" if silent.size > 1 else "")
            + "; drop it or check the LF before fitting"
        )


def column_vote_counts(L: Any) -> np.ndarray:
    if is_sparse(L):
        return np.bincount(L.indices[L.data != 0], minlength=L.shape[1])
    return np.count_nonzero(L, axis=0)


def check_accuracies(p: Any, *, m: int | None = None, name: str = "accuracies", closed: bool = False) -> np.ndarray:
    """Return accuracies as float64 (m,), each strictly between 0 and 1 (in [0, 1] if ``closed``)."""
    p = _as_float_vector(p, name)
    if m is not None and p.shape[0] != m:
        raise ValueError(f"{name} has {p.shape[0]} entries but L has {m} LFs (columns); they must match")
    if closed:
        bad = np.flatnonzero((p < 0) | (p > 1))
        if bad.size:
            j = int(bad[0])
            raise ValueError(f"{name}[{j}] is {p[j]:g}; accuracies are probabilities in [0, 1]")
        return p
    bad = np.flatnonzero((p <= 0) | (p >= 1))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"{name}[{j}] is {p[j]:g}; accuracies must lie strictly between 0 and 1 "
            "(at 0 or 1 the log-odds weight is infinite: clip them, e.g. np.clip(p, 0.01, 0.99))"
        )
    return p


def check_signed_accuracies(q: Any, *, m: int | None = None, name: str = "q", slack: float = 0.1) -> np.ndarray:
    """Return signed accuracies ``q = 2 p - 1`` as float64 (m,), finite and within [-1, 1] up to
    ``slack`` (a fitted q may overshoot 1 a little; callers clip it)."""
    q = _as_float_vector(q, name)
    if m is not None and q.shape[0] != m:
        raise ValueError(f"{name} has {q.shape[0]} entries but there are {m} LFs; they must match")
    bad = np.flatnonzero(np.abs(q) > 1 + slack)
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"{name}[{j}] is {q[j]:g}; signed accuracies q = 2 p - 1 lie in [-1, 1] "
            "(accuracies p? convert with 2 * p - 1; log-odds weights are not accuracies)"
        )
    return q


def check_overlap_matrix(Z: Any, *, m: int | None = None, name: str = "Z") -> np.ndarray:
    """Return an overlap matrix as float64 (m, m), after checking that it is one: square,
    symmetric, entries in [-1, 1] or NaN (never overlapping)."""
    try:
        Z = np.asarray(Z, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a square matrix of numbers") from None
    if Z.ndim != 2 or Z.shape[0] != Z.shape[1]:
        raise ValueError(f"{name} must be square (m x m); got shape {Z.shape}")
    if m is not None and Z.shape[0] != m:
        raise ValueError(f"{name} is {Z.shape[0]} x {Z.shape[0]} but there are {m} LFs; they must match")
    finite = np.isfinite(Z)
    if (np.isinf(Z)).any():
        i, j = np.argwhere(np.isinf(Z))[0]
        raise ValueError(f"{name}[{i}, {j}] is {Z[i, j]}; overlap rates are in [-1, 1] (NaN: never overlap)")
    outside = finite & (np.abs(Z) > 1 + 1e-9)
    if outside.any():
        i, j = np.argwhere(outside)[0]
        raise ValueError(
            f"{name}[{i}, {j}] is {Z[i, j]:g}; an overlap rate (agreements - disagreements) / overlaps lies in [-1, 1]"
        )
    nan = np.isnan(Z)
    with np.errstate(invalid="ignore"):
        asymmetric = (np.abs(Z - Z.T) > 1e-9) | (nan != nan.T)
    if asymmetric.any():
        i, j = np.argwhere(asymmetric)[0]
        raise ValueError(f"{name} must be symmetric, but {name}[{i}, {j}] = {Z[i, j]:g} and {name}[{j}, {i}] = {Z[j, i]:g}")
    return Z


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1; strings and booleans are refused
    (``'0.5'`` is text, not a probability)."""
    if isinstance(value, (str, bytes, bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)) \
            or isinstance(value, np.complexfloating):
        raise TypeError(f"{name} must be a real number strictly between 0 and 1; got {value!r}")
    value = float(value)
    if not 0 < value < 1:
        raise ValueError(f"{name} is {value:g}; it must lie strictly between 0 and 1")
    return value


def check_soft_labels(y: Any, *, n: int | None = None, name: str = "y_soft") -> np.ndarray:
    """Return soft labels P(y=+1) as float32 (n,), each in [0, 1]."""
    y = _as_float_vector(y, name)
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} entries but X has {n} rows; they must match")
    bad = np.flatnonzero((y < 0) | (y > 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{name}[{i}] is {y[i]:g}; soft labels are probabilities P(y=+1) in [0, 1] "
            "(labels in {-1, +1}? convert with (y + 1) / 2)"
        )
    return y.astype(np.float32)


def check_features(X: Any, *, n: int | None = None, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == object or not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise TypeError(f"{name} must be numeric; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n points x d features); got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape})")
    if n is not None and X.shape[0] != n:
        raise ValueError(f"{name} has {X.shape[0]} rows but the labels have {n}; they must match")
    X = X.astype(np.float32, copy=False)
    if not np.isfinite(X).all():
        i, j = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{name}[{i}, {j}] is {X[i, j]}; features must be finite (impute or drop NaN/inf)")
    return X


def _label_vector(y: Any, n: int | None, name: str, expected: str) -> np.ndarray:
    """``y`` as a 1-D numeric array of ``n`` labels; ``expected`` names the labels in the error."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one label per point; got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but L has {n} rows; they must match")
    if y.dtype == object or not np.issubdtype(y.dtype, np.number):  # bool is not a number here
        raise TypeError(f"{name} must hold {expected}; got dtype {y.dtype}")
    return y


def check_binary_labels(y: Any, *, n: int | None = None, name: str = "y") -> np.ndarray:
    """Return true labels as int8 (n,), each -1 or +1."""
    y = _label_vector(y, n, name, "-1 or +1")
    bad = np.flatnonzero((y != -1) & (y != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] is {y[i]}; true labels must be -1 or +1 (0/1 labels? use 2 * y - 1)")
    return y.astype(np.int8)


def check_class_labels(y: Any, classes: np.ndarray, *, n: int | None = None, name: str = "y") -> np.ndarray:
    """Return true labels as an int array (n,), each one of ``classes`` (e.g. 1..K)."""
    y = _label_vector(y, n, name, f"class labels {_show_classes(classes)}")
    bad = np.flatnonzero(~np.isin(y, classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] is {y[i]}; true labels must be {_show_classes(classes)}")
    return y.astype(np.int64)


def _show_classes(classes: np.ndarray) -> str:
    return "-1 or +1" if classes[0] == -1 else f"a class 1..{classes.size}"


def _as_float_vector(x: Any, name: str) -> np.ndarray:
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of numbers") from None
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(x).all():
        i = int(np.flatnonzero(~np.isfinite(x))[0])
        raise ValueError(f"{name}[{i}] is {x[i]}; it must be finite")
    return x


def check_int(value: Any, name: str) -> int:
    """``value`` as an int; bools, floats and strings are refused (TypeError naming ``name``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int; got {value!r}")
    return int(value)


def check_n_classes(n_classes: Any, *, high: int | None = None) -> int | None:
    """None (the -1/+1 convention), or the number of classes K: an int of at least 2 (and at most
    ``high``, where votes are stored as int8)."""
    if n_classes is None:
        return None
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(n_classes, (numbers.Integral, np.integer)):
        raise TypeError(f"n_classes must be an int or None; got {n_classes!r}")
    if n_classes < 2 or (high is not None and n_classes > high):
        bound = "at least 2" if high is None else f"from 2 to {high} (votes are stored as int8)"
        raise ValueError(f"n_classes is {n_classes}; it must be {bound}")
    return int(n_classes)


def check_positive_int(value: Any, name: str) -> int:
    """``value`` as an int >= 1."""
    value = check_int(value, name)
    if value < 1:
        raise ValueError(f"{name} is {value}; it must be a positive int")
    return value


def check_real(value: Any, name: str, *, low: float | None = None, strict: bool = False) -> float:
    """``value`` as a finite float, at least (``strict``: above) ``low``; strings are refused."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} is {value}; it must be finite")
    if low is not None and (value <= low if strict else value < low):
        raise ValueError(f"{name} is {value:g}; it must be {'>' if strict else '>='} {low:g}")
    return value
