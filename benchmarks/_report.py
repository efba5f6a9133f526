"""What the benchmark scripts share: timing a step, and printing and writing the report."""
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_report(text: str, name: str, quick: bool) -> Path:
    """Write ``text`` to benchmarks/NAME.md, or, for a --quick smoke run, to the git-ignored
    benchmarks/output/NAME_quick.md so that it never replaces the committed table."""
    out = HERE / "output" / f"{name}_quick.md" if quick else HERE / f"{name}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print()
    print(text)
    print(f"written to {out}")
    return out


def best_of(fn, repeats: int):
    """``(seconds, result)``: the fastest of ``repeats`` wall-clock runs of ``fn()``, and its result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result
