"""The original tutorial's data-generating loops, ported to Python 3 as a test oracle.

Kept deliberately slow and literal: the vectorized generator must match it draw for draw.
"""
import numpy as np


def original_loops(n, d, m, coverage, seed=123):
    np.random.seed(seed)
    Ys = 2 * np.random.randint(2, size=(n,)) - 1
    feature_accs = 0.2 * np.random.random((d,)) + 0.4
    Xs = np.zeros((n, d))
    for i in range(n):
        for j in range(d):
            if np.random.random() > feature_accs[j]:
                Xs[i, j] = 1 if Ys[i] == 1 else 0
            else:
                Xs[i, j] = 0 if Ys[i] == 1 else 1
    lf_accs = 0.3 * np.random.random((m,)) + 0.45
    Ls = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            if np.random.random() < coverage:
                Ls[i, j] = Ys[i] if np.random.random() < lf_accs[j] else -Ys[i]
    return Xs, Ys, feature_accs, lf_accs, Ls
