"""The student edition: the chapter notebooks with solutions removed and outputs cleared.

Solutions are sphinx-exercise directives in markdown cells, in either form:

- a fenced block, with backticks or colons, of any fence length, with or without options::

      ````{solution} ex-label
      :class: dropdown
      ...text, maths, nested ```python fences...
      ````

- a gated pair, whose content may span several cells (code cells included)::

      ```{solution-start} ex-label
      ```
      ...
      ```{solution-end}
      ```

Both are removed whole; the exercises stay. So are the code cells that exist only to compute
numbers the solutions quote (``glue`` calls whose names only solutions use), which would give the
answers away. Standard library only (notebooks are JSON).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# An opening fence of a MyST directive: up to 3 spaces, 3+ backticks or colons, {name}.
_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[A-Za-z][\w:.-]*)\}")
MARKER = ".student-edition"


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened with ``fence`` (same character, at least as long)."""
    stripped = line.strip()
    return (len(line) - len(line.lstrip(" ")) <= 3 and len(stripped) >= len(fence)
            and set(stripped) == {fence[0]})


@dataclass
class _Stripper:
    """Removes solution blocks from a stream of lines; keeps state across notebook cells."""

    removed: int = 0          # solutions removed
    in_gated: bool = False    # between {solution-start} and {solution-end}
    dropped: list[str] = field(default_factory=list)  # the removed lines
    _skip_fence: str | None = field(default=None, repr=False)  # inside a fenced block to drop
    _after_skip: str = field(default="", repr=False)           # what that block was

    def lines(self, text: str) -> str:
        kept = []
        for line in text.splitlines(keepends=True):
            if self._skip_fence is not None:  # inside a {solution}/{solution-start}/{solution-end}
                self.dropped.append(line)
                if _closes(line, self._skip_fence):
                    self._skip_fence = None
                    if self._after_skip == "solution-start":
                        self.in_gated = True
                    elif self._after_skip == "solution-end":
                        self.in_gated = False
                continue
            match = _OPEN.match(line)
            name = match["name"] if match else None
            if name in {"solution", "solution-start", "solution-end"}:
                self._skip_fence, self._after_skip = match["fence"], name
                self.removed += name != "solution-end"
                self.dropped.append(line)
                continue
            (self.dropped if self.in_gated else kept).append(line)
        if self._skip_fence is not None:  # a fence left open is closed by the end of the cell
            self._skip_fence = None
            self.in_gated = self._after_skip == "solution-start"
        return _tidy("".join(kept))


def _tidy(text: str) -> str:
    """Collapse the blank lines a removed block leaves behind."""
    return re.sub(r"\n{3,}", "\n\n", text)


def strip_solutions(text: str) -> tuple[str, int]:
    """Remove every solution block from MyST Markdown text; return (text, solutions removed).

    Examples
    --------
    >>> text = "```{exercise}\\n:label: ex-a\\nTry.\\n```\\n\\n````{solution} ex-a\\n:class: dropdown\\n\\n```python\\nx = 1\\n```\\n````\\nAfter.\\n"
    >>> stripped, n = strip_solutions(text)
    >>> n, "{solution" in stripped, "{exercise}" in stripped, stripped.endswith("After.\\n")
    (1, False, True, True)
    """
    stripper = _Stripper()
    stripped = stripper.lines(text)
    if stripper.in_gated:
        raise ValueError("a {solution-start} block has no {solution-end}")
    return stripped, stripper.removed


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def student_notebook(nb: dict) -> tuple[dict, int]:
    """A copy of notebook ``nb`` (nbformat 4 JSON) without solutions or outputs, and unpaired.

    Besides the solution blocks, it drops the code cells that exist only to compute numbers for
    the solutions: cells that glue values which only solutions quote (and define nothing a later
    cell uses). Returns the new notebook and the number of solutions removed.
    """
    stripper = _Stripper()
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = stripper.lines(_source(cell)).strip("\n")
            if not text.strip():
                continue
            cell = {**cell, "source": text.splitlines(keepends=True)}
        elif stripper.in_gated:  # a code or raw cell inside a {solution-start}/{solution-end} pair
            stripper.dropped.append(_source(cell))
            continue
        else:
            cell = dict(cell)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k != "execution"}
        cells.append(cell)
    if stripper.in_gated:
        raise ValueError("a {solution-start} block has no {solution-end}")
    kept_refs = _glue_refs("".join(_source(c) for c in cells if c["cell_type"] == "markdown"))
    solution_refs = _glue_refs("".join(stripper.dropped))
    drop = _solution_only_cells(cells, kept_refs, solution_refs)
    cells = [c for i, c in enumerate(cells) if i not in drop]
    # Drop the Jupytext pairing: the student edition ships the notebooks alone.
    metadata = {k: v for k, v in nb.get("metadata", {}).items() if k != "jupytext"}
    return {**nb, "metadata": metadata, "cells": cells}, stripper.removed


# glue("name", ...), glue_number(f"acc_{key}", ...): the name glued, possibly an f-string.
_GLUE_CALL = re.compile(r"""\bglue\w*\(\s*(?P<f>[fF]?)(?P<q>["'])(?P<name>.*?)(?P=q)""")
# {glue}`name`, {glue:text}`name:.3f`, ```{glue:figure} name
_GLUE_REF = re.compile(r"\{glue(?::[\w-]+)?\}(?:`|[ \t]+)(?P<name>[^`:\s]+)")


def _glue_refs(text: str) -> set[str]:
    return {m["name"] for m in _GLUE_REF.finditer(text)}


def _glued_patterns(source: str) -> list[re.Pattern]:
    patterns = []
    for m in _GLUE_CALL.finditer(source):
        if m["f"]:  # f"res_max_{key}" matches any res_max_...
            parts = re.split(r"\{[^}]*\}", m["name"])
            patterns.append(re.compile(".+".join(map(re.escape, parts))))
        else:
            patterns.append(re.compile(re.escape(m["name"])))
    return patterns


def _parse(source: str) -> ast.Module | None:
    """Parse a code cell, with IPython magics and shell escapes replaced by ``pass``."""
    lines = [re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _solution_only_cells(cells: list[dict], kept_refs: set[str], solution_refs: set[str]) -> set[int]:
    """Indices of code cells that glue only values quoted by solutions, and feed no later cell."""
    drop: set[int] = set()
    used_later: set[str] = set()
    # Names glued literally, per cell: a reference to one of them is explained by that cell, even
    # if another cell's f-string pattern (f"mae_{name}") could also produce it.
    literal = {i: {m["name"] for m in _GLUE_CALL.finditer(_source(c)) if not m["f"]}
               for i, c in enumerate(cells) if c["cell_type"] == "code"}
    for i in reversed(range(len(cells))):
        if cells[i]["cell_type"] != "code":
            continue
        source = _source(cells[i])
        elsewhere = set().union(*(names for j, names in literal.items() if j != i))
        kept = kept_refs - elsewhere
        tree = _parse(source)
        if tree is None:  # cannot tell what it uses: keep it, and assume it uses every word
            used_later |= set(re.findall(r"[A-Za-z_]\w*", source))
            continue
        patterns = _glued_patterns(source)
        defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                    if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        if (patterns
                and not any(p.fullmatch(r) for p in patterns for r in kept)
                and any(p.fullmatch(r) for p in patterns for r in solution_refs)
                and not defined & used_later):
            drop.add(i)
            continue
        used_later |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return drop


def count_directives(text: str, name: str) -> int:
    """How many ``{name}`` directive blocks ``text`` opens."""
    return sum(1 for line in text.splitlines() if (m := _OPEN.match(line)) and m["name"] == name)


STUDENT_README = """\
# Data Programming, Hands-On: student notebooks

One notebook per chapter. The exercises are here; their solutions are not (they are on the
book's site, behind "Show solution" buttons). No cell has been run yet: run each one yourself,
from top to bottom.

The book's helper package is in `dp_helpers/`, next to the notebooks, so `import dp_helpers`
works when Jupyter is started in this folder. The other packages are those listed in
`requirements.txt`:

    python3 -m venv .venv
    .venv/bin/python -m pip install -r requirements.txt
    .venv/bin/jupyter lab

(Offline, from a folder of wheels: `pip install --no-index --find-links WHEELS -r requirements.txt`.
On Windows use `.venv\\Scripts\\` instead of `.venv/bin/`.)

Made by `python3 tasks.py student` from the book's repository.
"""


def make_student_edition(root: Path, out: Path) -> list[tuple[str, int, int]]:
    """Write the student edition of ``root``'s notebooks into ``out`` (replacing an earlier one).

    Returns (notebook name, solutions removed, exercises kept) for each notebook.
    """
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not a student edition; not overwriting it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Generated by `python3 tasks.py student`; rebuilt on every run.\n")
    summary = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        student, removed = student_notebook(nb)
        text = json.dumps(student, indent=1, ensure_ascii=False) + "\n"
        (out / path.name).write_text(text, encoding="utf-8")
        exercises = sum(count_directives(_source(c), "exercise") + count_directives(_source(c), "exercise-start")
                        for c in student["cells"] if c["cell_type"] == "markdown")
        summary.append((path.name, removed, exercises))
    shutil.copytree(root / "dp_helpers", out / "dp_helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(root / "requirements.txt", out / "requirements.txt")
    # The scaling chapter plots the committed benchmark table; ship it beside the notebooks.
    (out / "benchmarks").mkdir(exist_ok=True)
    shutil.copy2(root / "benchmarks" / "scale.md", out / "benchmarks" / "scale.md")
    (out / "README.md").write_text(STUDENT_README, encoding="utf-8")
    return summary
