"""The committed notebooks are executed, error-free, paired with their text files, and in the book.

nbval re-runs every notebook and compares outputs (collected from notebooks/ by the pytest
configuration); these tests make sure nbval has something to compare: a notebook stored
without outputs would pass nbval vacuously.
"""
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ids = [nb.stem for nb in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_code_cell_is_executed_in_order(path):
    cells = code_cells(nbformat.read(path, as_version=4))
    counts = [c.execution_count for c in cells]
    assert None not in counts, f"{path.name}: cells {[i for i, c in enumerate(counts) if c is None]} never ran"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: not one clean top-to-bottom run: {counts}"
    assert sum(bool(c.outputs) for c in cells) >= len(cells) // 3, f"{path.name}: most cells have no stored output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_stored_errors_except_where_tagged(path):
    for i, cell in enumerate(code_cells(nbformat.read(path, as_version=4))):
        if "raises-exception" in cell.metadata.get("tags", []):
            assert any(o.output_type == "error" for o in cell.outputs), f"{path.name} cell {i}: tagged raises-exception but did not raise"
            continue
        errors = [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"]
        assert not errors, f"{path.name} cell {i} stored an error or stderr output: {errors[0]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_and_text_file_hold_the_same_cells(path):
    text = path.with_suffix(".md")
    assert text.exists(), f"{path.name} has no paired {text.name}"
    from_text = [summary(c) for c in jupytext.read(text).cells]
    from_ipynb = [summary(c) for c in nbformat.read(path, as_version=4).cells]
    assert len(from_text) == len(from_ipynb), f"{text.name} has {len(from_text)} cells, {path.name} {len(from_ipynb)}"
    for i, (a, b) in enumerate(zip(from_text, from_ipynb)):
        assert a == b, f"cell {i} differs between {text.name} and {path.name}: run `python3 tasks.py notebooks`"


def summary(cell):
    """What pairing must preserve: the kind of cell, its source and its tags (not run metadata)."""
    return cell.cell_type, cell.source.strip(), sorted(cell.metadata.get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_is_in_the_table_of_contents(path):
    toc = (ROOT / "_toc.yml").read_text()
    assert f"notebooks/{path.name}" in toc or f"notebooks/{path.stem}" in toc


def test_table_of_contents_names_only_existing_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    for name in files:
        candidates = [ROOT / name] + [ROOT / f"{name}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.is_file() for c in candidates), f"_toc.yml names {name}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_solution_code_shown_is_the_code_that_ran(path):
    """A ```python block in a {solution} that has an executed twin (a code cell tagged solution
    that starts with the same three lines) must be that cell's code, so the numbers printed under
    a solution come from the code the reader sees. The block's last line may differ: it shows a
    result, where the twin keeps it for the ``say`` cell after it."""
    import re

    nb = nbformat.read(path, as_version=4)
    solutions = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    shown = [block for part in re.findall(r"`{3,}\{solution\}.*?\n`{4}", solutions, re.S)
             for block in re.findall(r"```python\n(.*?)```", part, re.S)]
    ran = [c.source.strip() for c in nb.cells
           if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    for block in shown:
        head = block.strip().splitlines()[:3]
        twins = [cell for cell in ran if cell.splitlines()[:3] == head]
        body = "\n".join(block.strip().splitlines()[:-1])
        for cell in twins:
            assert cell.startswith(body), (f"{path.name}: the solution shows code that differs from the cell "
                                           f"that ran it; shown:\n{body}\nran:\n{cell}")
