"""Snorkel 0.10's LabelModel, run in another interpreter that has it (and PyTorch) installed.

The book's own environment does without PyTorch; `benchmarks/requirements-snorkel.txt` lists what
that other interpreter needs. Label matrices go over in an .npz file, in this book's convention
(0 abstain, -1/+1 or 1..K); the child converts them to Snorkel's (-1 abstain, 0..K-1), fits with
the spam tutorial's settings (500 epochs) and times fit + predict in its own process, so start-up
and imports are not counted.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

RUNNER = r'''
import json, sys, time
import numpy as np
from snorkel.labeling.model import LabelModel
args = json.loads(sys.argv[1])
data = np.load(args["npz"])
def to_snorkel(L):
    L = L.astype(np.int64)
    return np.where(L == 0, -1, (L + 1) // 2) if args["K"] == 2 else L - 1
start = time.perf_counter()
model = LabelModel(cardinality=args["K"], verbose=False)
model.fit(to_snorkel(data[args["fit_on"]]), n_epochs=500, seed=args["seed"], progress_bar=False)
out = {"fit_s": time.perf_counter() - start, "weights": model.get_weights().tolist(), "predict": {}}
for name in data.files:
    start = time.perf_counter()
    proba = model.predict_proba(to_snorkel(data[name]))
    seconds = time.perf_counter() - start
    rng = np.random.default_rng(0)   # ties at random, as the tutorial's tie_break_policy="random"
    pred = np.argmax(proba + rng.random(proba.shape) * 1e-9, axis=1)
    out["predict"][name] = {"seconds": seconds, "pred": pred.tolist()}
print(json.dumps(out))
'''


def run_snorkel(python: str, matrices: dict[str, np.ndarray], K: int, fit_on: str, seed: int = 123) -> dict:
    """Fit on ``matrices[fit_on]``, predict every matrix; returns ``fit_s``, ``weights`` (the LF
    accuracies Snorkel estimates) and per matrix ``seconds`` and ``pred`` (class index 0..K-1)."""
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "L.npz"
        np.savez(npz, **matrices)
        args = json.dumps({"npz": str(npz), "K": K, "fit_on": fit_on, "seed": seed})
        done = subprocess.run([python, "-c", RUNNER, args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def snorkel_version(python: str) -> str:
    """``"snorkel X, PyTorch Y"`` of that interpreter."""
    code = "import snorkel, torch; print(f'Snorkel {snorkel.__version__} on PyTorch {torch.__version__}')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
