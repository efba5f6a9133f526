"""Class-conditional label model benchmark: speed on one-class LFs, and accuracy against Snorkel.

    .venv/bin/python benchmarks/class_conditional.py [--quick] [--snorkel-python PATH]

Part 1 times ``ClassConditionalLabelModel`` fit + ``predict_proba`` on one-class LFs drawn from
known tables (n = 1e6 with K = 2, n = 2e5 with K = 6; m = 30) and scores it against the truth and
majority vote. Part 2 fits the label models to Snorkel's spam-tutorial LFs (without its spaCy LF,
which needs a model we cannot ship) on the YouTube Spam Collection and scores them on every comment
some LF covers. With ``--snorkel-python``, the same label matrices are also fitted by Snorkel 0.10's
``LabelModel`` (500 epochs, the tutorial's settings) in that interpreter, which needs
``benchmarks/requirements-snorkel.txt`` (PyTorch; kept out of the book's own environment):

    python3 -m venv .venv-snorkel
    .venv-snorkel/bin/pip install -r benchmarks/requirements-snorkel.txt
    .venv/bin/python benchmarks/class_conditional.py --snorkel-python .venv-snorkel/bin/python

The report goes to benchmarks/class_conditional.md (``--quick``: benchmarks/output/).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import dp_helpers as dp  # noqa: E402
from _report import best_of, write_report  # noqa: E402
from _snorkel import run_snorkel, snorkel_version  # noqa: E402


def one_class_tables(K: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """LF j votes only class j % K: P(vote | own class) in [0.15, 0.5], elsewhere [0.01, 0.08]."""
    T = np.zeros((m, K + 1, K))
    for j in range(m):
        v = j % K
        T[j, v + 1, :] = rng.uniform(0.01, 0.08, size=K)
        T[j, v + 1, v] = rng.uniform(0.15, 0.5)
        T[j, 0, :] = 1 - T[j, 1:, :].sum(axis=0)
    return T


def majority_vote(L: np.ndarray, classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plurality of the votes; ties (and rows without votes) broken at random."""
    counts = np.stack([(L == c).sum(axis=1) for c in classes], axis=1).astype(float)
    counts += rng.random(counts.shape) * 0.5          # random tie-break below one vote
    return classes[np.argmax(counts, axis=1)]




def speed_case(n: int, K: int, m: int, repeats: int, snorkel_python: str | None) -> dict:
    rng = np.random.default_rng(K)
    T = one_class_tables(K, m, rng)
    prior = np.full(K, 1 / K)
    L, y = dp.sample_from_tables(T, prior, n, random_state=1)
    model = dp.ClassConditionalLabelModel()
    seconds, proba = best_of(lambda: model.fit(L).predict_proba(L), repeats)
    pred = model.classes_[np.argmax(proba, axis=1)]
    row = {"case": f"n={n:.0e}, K={K}, m={m}", "fit_predict_s": seconds, "accuracy": (pred == y).mean(),
           "majority_vote": (majority_vote(L, model.classes_, rng) == y).mean(),
           "table_error": np.abs(model.conditional_ - T).max(), "iterations": model.n_iter_}
    if snorkel_python:
        result = run_snorkel(snorkel_python, {"case": L}, K, fit_on="case")
        pred_s = model.classes_[np.asarray(result["predict"]["case"]["pred"])]
        row.update(snorkel_s=result["fit_s"] + result["predict"]["case"]["seconds"],
                   snorkel_accuracy=(pred_s == y).mean())
        row["speedup"] = row["snorkel_s"] / row["fit_predict_s"]
    return row


# --------------------------------------------------------------- YouTube spam
def spam_tutorial_label_matrix(comments: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Snorkel's spam-tutorial LFs without spaCy: +1 spam, -1 ham, 0 abstain."""
    from textblob import TextBlob

    def keyword(words, label):
        return lambda text: label if any(w in text.lower() for w in words) else 0

    lfs = {
        "keyword_my": keyword(["my"], 1), "keyword_subscribe": keyword(["subscribe"], 1),
        "keyword_link": keyword(["http"], 1), "keyword_please": keyword(["please", "plz"], 1),
        "keyword_song": keyword(["song"], -1),
        "regex_check_out": lambda text: 1 if re.search(r"check.*out", text, flags=re.I) else 0,
        "short_comment": lambda text: -1 if len(text.split()) < 5 else 0,
        "textblob_polarity": lambda text: -1 if TextBlob(text).sentiment.polarity > 0.9 else 0,
        "textblob_subjectivity": lambda text: -1 if TextBlob(text).sentiment.subjectivity >= 0.5 else 0,
    }
    L = np.array([[lf(text) for lf in lfs.values()] for text in comments], dtype=np.int8)
    return L, list(lfs)


def spam_comparison(snorkel_python: str | None) -> pd.DataFrame:
    import warnings

    data = dp.load_youtube_spam()
    splits = {"train": data.train, "valid": data.valid, "test": data.test}
    L = {name: spam_tutorial_label_matrix(df.text)[0] for name, df in splits.items()}
    y = {name: df.label.to_numpy() for name, df in splits.items()}
    L["all"], y["all"] = np.vstack(list(L.values())), np.concatenate(list(y.values()))

    def scores(predict) -> dict:
        out = {}
        for name in ("all", "train", "valid", "test"):
            covered = (L[name] != 0).any(axis=1)
            out[f"covered_{name}"] = (predict(L[name])[covered] == y[name][covered]).mean()
        return out

    rows = []
    rng = np.random.default_rng(0)
    mv = [scores(lambda M: majority_vote(M, np.array([-1, 1]), rng)) for _ in range(20)]
    rows.append({"model": "majority vote (ties at random, mean of 20 draws)",
                 **pd.DataFrame(mv).mean().to_dict(), "fit_s": 0.0})
    for label, model in [("ClassConditionalLabelModel (better_than_chance=True)", dp.ClassConditionalLabelModel()),
                         ("plain Dawid-Skene EM (better_than_chance=False)", dp.ClassConditionalLabelModel(better_than_chance=False))]:
        seconds, fitted = best_of(lambda: model.fit(L["train"]), 3)
        rows.append({"model": label, **scores(fitted.predict), "fit_s": seconds})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # it warns, rightly, that these LFs vote one class
        seconds, coin = best_of(lambda: dp.LabelModel(method="closed_form").fit(L["train"]), 3)
    rows.append({"model": "one-coin LabelModel (closed form)", **scores(coin.predict), "fit_s": seconds})
    if snorkel_python:
        for seed in (123, 0, 1, 2):
            result = run_snorkel(snorkel_python, {name: M for name, M in L.items()}, 2, fit_on="train", seed=seed)
            preds = {name: np.array([-1, 1])[np.asarray(r["pred"])] for name, r in result["predict"].items()}
            row = {"model": f"Snorkel 0.10 LabelModel (500 epochs, seed {seed})", "fit_s": result["fit_s"]}
            for name in ("all", "train", "valid", "test"):
                covered = (L[name] != 0).any(axis=1)
                row[f"covered_{name}"] = (preds[name][covered] == y[name][covered]).mean()
            rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n of 1e5 and 2e4 only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--snorkel-python", help="an interpreter with snorkel 0.10 and torch installed")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    speed = pd.DataFrame([speed_case(1_000_000 // scale, 2, 30, args.repeats, args.snorkel_python),
                          speed_case(200_000 // scale, 6, 30, args.repeats, args.snorkel_python)])
    print(speed.to_string(), flush=True)
    spam = spam_comparison(args.snorkel_python)
    print(spam.to_string(), flush=True)
    versions = f"NumPy {np.__version__}"
    if args.snorkel_python:
        versions += f", {snorkel_version(args.snorkel_python)} (CPU)"
    k2 = speed.iloc[0]
    lines = [
        "# Class-conditional label model benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (1-minute load average {os.getloadavg()[0]:.1f} when the table was written), "
        f"Python {platform.python_version()}, {versions}. "
        f"Generated by `benchmarks/class_conditional.py`{' --quick' if args.quick else ''}"
        f"{' --snorkel-python ...' if args.snorkel_python else ''}; best of {args.repeats} runs "
        "(Snorkel: one run).",
        "",
        "## Speed on one-class LFs",
        "",
        "`ClassConditionalLabelModel().fit(L)` + `predict_proba(L)` on LFs that each vote one class,",
        "drawn from known tables; accuracy against the true labels; `table_error` is the largest",
        "error in any estimated P(vote | class); Snorkel 0.10's `LabelModel` (500 epochs) on the same L.",
        "",
        speed.to_markdown(index=False, floatfmt=".4g"),
        "",
        f"Target (n=1e6, K=2, m=30): fit + predict {k2.fit_predict_s:.3f} s (target < 1 s)"
        + (f", {k2.speedup:.0f}x faster than Snorkel at accuracy {k2.accuracy:.4f} against its "
           f"{k2.snorkel_accuracy:.4f} (target: >= 10x at equal or better accuracy)." if "speedup" in k2 else "."),
        "",
        "## YouTube spam: Snorkel's tutorial LFs without spaCy",
        "",
        "Fitted on the train split (videos 1-4); accuracy on the comments some LF covers, in all",
        "splits and in each; `fit_s` is the fit's wall-clock time.",
        "",
        spam.to_markdown(index=False, floatfmt=".4f"),
    ]
    write_report("\n".join(lines) + "\n", "class_conditional", args.quick)


if __name__ == "__main__":
    main()
