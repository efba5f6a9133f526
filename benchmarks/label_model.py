"""Benchmark of the label model: time and accuracy over n, m, coverage, dense and sparse L.

    .venv/bin/python benchmarks/label_model.py            # full grid (a few minutes)
    .venv/bin/python benchmarks/label_model.py --quick    # n up to 1e5
    .venv/bin/python benchmarks/label_model.py --snorkel-python .venv-snorkel/bin/python

With ``--snorkel-python`` (an interpreter with ``benchmarks/requirements-snorkel.txt``), Snorkel
0.10's LabelModel (500 epochs) is timed on the target case's L in the same run.

Prints a table and writes it to benchmarks/label_model.md (--quick: to the git-ignored
benchmarks/output/). Times are the best of a few
repeats (wall clock, this machine); memory is the peak of NumPy allocations during
closed-form fit + predict_proba, as a multiple of the size of L itself.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tracemalloc
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import dp_helpers as dp  # noqa: E402
from _report import best_of, write_report  # noqa: E402
from _snorkel import run_snorkel, snorkel_version  # noqa: E402

HERE = Path(__file__).resolve().parent




def nbytes(L):
    if sp.issparse(L):
        return L.data.nbytes + L.indices.nbytes + L.indptr.nbytes
    return L.nbytes


def make_label_matrix(n, m, coverage, seed=0):
    """Draw L straight from the generative model (no features: only L is timed here)."""
    rng = np.random.default_rng(seed)
    accuracies = 0.45 + 0.3 * rng.random(m)
    y = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    L = np.zeros((n, m), np.int8)
    for j in range(m):  # column by column keeps the float temporaries at n values
        votes = rng.random(n) < coverage
        right = rng.random(n) < accuracies[j]
        L[:, j] = np.where(right, y, -y) * votes
    return L, accuracies


def peak_memory_ratio(L):
    tracemalloc.start()
    tracemalloc.reset_peak()
    model = dp.LabelModel(method="closed_form").fit(L)
    model.predict_proba(L)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / nbytes(L)


def bench_case(n, m, coverage, layout, repeats, snorkel_python=None):
    dense, accuracies = make_label_matrix(n, m, coverage)
    L = sp.csr_matrix(dense) if layout == "sparse" else dense
    snorkel = None
    if snorkel_python:
        result = run_snorkel(snorkel_python, {"L": dense}, 2, fit_on="L")
        snorkel = {"snorkel_total_s": result["fit_s"] + result["predict"]["L"]["seconds"],
                   "mae_snorkel": np.abs(np.asarray(result["weights"]) - accuracies).mean()}
    del dense
    t_overlaps, stats = best_of(lambda: dp.overlap_stats(L), repeats)
    Z = stats.overlap_matrix()
    t_closed, q_closed = best_of(lambda: dp.fit_signed_accuracies_closed_form(Z), repeats)
    t_tf, fit = best_of(lambda: dp.fit_signed_accuracies_tf(Z), 1)
    p = np.clip((q_closed + 1) / 2, 0.01, 0.99)
    t_posterior, _ = best_of(lambda: dp.posterior(L, p), repeats)
    t_closed_total, model = best_of(lambda: _fit_predict(L, "closed_form"), repeats)
    t_tf_total, _ = best_of(lambda: _fit_predict(L, "tensorflow"), 1)
    return {
        "n": n, "m": m, "coverage": coverage, "L": layout,
        "overlaps_s": t_overlaps, "closed_form_s": t_closed, "tf_fit_s": t_tf, "posterior_s": t_posterior,
        "closed_form_total_s": t_closed_total, "tf_total_s": t_tf_total,
        "mae_closed_form": np.abs(model.accuracies_ - accuracies).mean(),
        "mae_tf": np.abs(np.clip((fit.q + 1) / 2, 0.01, 0.99) - accuracies).mean(),
        "peak_mem_x_L": peak_memory_ratio(L),
        **(snorkel or {}),
    }


def _fit_predict(L, method):
    model = dp.LabelModel(method=method).fit(L)
    model.predict_proba(L)
    return model


def bench_seed_generator(repeats):
    sys.path.insert(0, str(HERE.parent / "tests"))
    from original_loops import original_loops

    t_loops, _ = best_of(lambda: original_loops(10_000, 100, 20, 0.25), 1)
    t_vector, _ = best_of(lambda: dp.make_original_tutorial_data(), repeats)
    return t_loops, t_vector


def markdown_table(rows):
    """One formatted markdown table (pandas' writer) with each column's number format."""
    formats = {"n": "{:.0e}", "closed_form_s": "{:.4f}", "mae_closed_form": "{:.4f}", "mae_tf": "{:.4f}",
               "mae_snorkel": "{:.4f}", "peak_mem_x_L": "{:.2f}", "coverage": "{}", "m": "{}"}
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if frame[column].dtype.kind == "f" or column in formats:
            fmt = formats.get(column, "{:.3f}")
            frame[column] = [("" if pd.isna(v) else fmt.format(v)) for v in frame[column]]
    return frame.to_markdown(index=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n up to 1e5 only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--snorkel-python", help="an interpreter with snorkel 0.10 and torch installed")
    args = parser.parse_args()
    import tensorflow as tf

    dp.fit_signed_accuracies_tf(np.eye(3) * 0 + 0.25, steps=2)  # pay TensorFlow's start-up once
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows = []
    for n in sizes:
        for m in (20, 100):
            for coverage in (0.25, 0.05):
                for layout in ("dense", "sparse"):
                    target_case = (n, m, coverage, layout) == (sizes[-1], 100, 0.05, "sparse")
                    row = bench_case(n, m, coverage, layout, args.repeats,
                                     args.snorkel_python if target_case else None)
                    rows.append(row)
                    print(row, flush=True)
    t_loops, t_vector = bench_seed_generator(args.repeats)
    table = markdown_table(rows)
    target = next((r for r in rows if (r["n"], r["m"], r["coverage"], r["L"]) == (1_000_000, 100, 0.05, "sparse")), None)
    versions = f", {snorkel_version(args.snorkel_python)} (CPU)" if args.snorkel_python else ""
    lines = [
        "# Label-model benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (1-minute load average {os.getloadavg()[0]:.1f} when the table was written), "
        f"Python {platform.python_version()}, "
        f"NumPy {np.__version__}, TensorFlow {tf.__version__}{versions}. Generated by `benchmarks/label_model.py`"
        f"{' --quick' if args.quick else ''}; best of {args.repeats} runs (TensorFlow: one run).",
        "",
        "Columns: seconds for the overlap statistics, the closed-form fit from Z, the TensorFlow fit",
        "from Z (5000 steps), the posterior; then `LabelModel(...).fit(L)` + `predict_proba(L)` end to",
        "end; mean absolute error of the LF accuracies; peak NumPy memory during closed-form fit +",
        "predict, as a multiple of the bytes of L; for the target case, Snorkel 0.10's",
        "`LabelModel` (500 epochs) fit + `predict_proba` on the same L and the error of its accuracies.",
        "",
        table,
        "",
        f"Seed-exact generator (n=10000, d=100, m=20): original loops {t_loops:.3f} s, vectorized "
        f"{t_vector:.4f} s, {t_loops / t_vector:.0f}x faster.",
    ]
    if target:
        lines += [
            "",
            "Targets (n=1e6, m=100, coverage 0.05, sparse L): closed-form fit + predict "
            f"{target['closed_form_total_s']:.3f} s (target < 0.5 s), accuracy error {target['mae_closed_form']:.4f} "
            f"(target <= 0.005); TensorFlow fit + predict {target['tf_total_s']:.3f} s (target < 2 s); "
            f"peak memory {target['peak_mem_x_L']:.2f} x L (target < 3)."
            + (f" Snorkel 0.10 fit + predict {target['snorkel_total_s']:.2f} s (accuracy error "
               f"{target['mae_snorkel']:.4f}): the closed form is "
               f"{target['snorkel_total_s'] / target['closed_form_total_s']:.0f}x faster (target >= 50x)."
               if "snorkel_total_s" in target else ""),
        ]
    write_report("\n".join(lines) + "\n", "label_model", args.quick)


if __name__ == "__main__":
    main()
