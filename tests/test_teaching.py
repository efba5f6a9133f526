"""The teacher's material: the student edition, the scaffolds, the offline bundle, the workshop plan.

Fast tests (no build, no browser): synthetic notebooks pin each rule, and the student edition and
scaffolds are made from the real chapters into a temporary folder.
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tasks  # noqa: E402
from booktools.student import (HOLE, MD, Book, make_student_edition, render_markdown,  # noqa: E402
                               scaffold_notebook, student_notebook)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The chapters with a hands-on workshop block, and so a scaffold once their cells are tagged.
SCAFFOLDED = ["01_labeling_functions", "02_label_model", "05_text_and_keywords"]
# What must not reach Colab: a role, a directive fence, an equation label, a target.
RAW_MYST = re.compile(r"\{[a-z][\w:-]*\}`|^\s*(?:`{3,}|:{3,})\s*\{|^\$\$.*\$\$\s*\(\S+\)\s*$|^\(\S+\)=\s*$", re.M)


def _nb(*cells: tuple[str, str] | tuple[str, str, list[str]]) -> nbformat.NotebookNode:
    """A minimal executed, Jupytext-paired notebook from (cell type, source[, tags])."""
    nb = nbformat.v4.new_notebook(metadata={"jupytext": {"formats": "ipynb,md:myst"},
                                            "kernelspec": {"name": "python3", "display_name": "Python 3"}})
    for kind, source, *tags in cells:
        if kind == "code":
            cell = nbformat.v4.new_code_cell(source, execution_count=1,
                                             outputs=[nbformat.v4.new_output("stream", text="out\n")])
        else:
            cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata.update({"tags": tags[0]} if tags else {}, jupyter={"source_hidden": True})
        nb.cells.append(cell)
    return nb


def _directive_contents(text: str, name: str) -> list[str]:
    """The contents of every ``{name}`` directive in ``text``, as markdown-it-py finds them."""
    return [t.content for t in MD.parse(text)
            if t.type in {"fence", "colon_fence"} and t.info.startswith(f"{{{name}}}")]


# --- MyST to plain Markdown --------------------------------------------------------------

@pytest.mark.parametrize("fence", ["```", "````", "`````", ":::", "::::"])
def test_solution_blocks_are_removed_whatever_their_fence(fence):
    inner = "```python\nx = 1\n```\n" if len(fence) > 3 else "$$x = 1$$\n"
    text = (f"Before.\n\n```{{exercise}}\n:label: ex-a\n\nTry it.\n```\n\n"
            f"{fence}{{solution}} ex-a\n:class: dropdown\n\nThe answer.\n{inner}{fence}\n\nAfter.\n")
    out = render_markdown(text)
    assert "answer" not in out and "x = 1" not in out and "solution" not in out
    assert out == "Before.\n\n**Exercise 1**\n\nTry it.\n\nAfter.\n"


def test_a_shorter_nested_fence_does_not_end_the_solution():
    text = "````{solution} ex-a\n```python\nsecret = 42\n```\nmore secret\n````\nkept\n"
    assert render_markdown(text) == "kept\n"


def test_roles_become_the_text_a_reader_expects(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{one, author={Ratner, Alex}, title={T}, year={2016}}\n"
                   "@article{two, author={Fu, Dan and Chen, Mayee}, title={T}, year={2020}}\n"
                   "@article{three, author={A, B and C, D and E, F}, title={T}, year={2019}}\n")
    book = Book(bib)
    book.start("02_label_model.ipynb")
    text = ("(sec-fit)=\n## Fitting the model\n\nAn {term}`LF <labeling function>` is a {term}`vote`.\n\n"
            "$$\nZ = q q^T\n$$ (eq-overlap)\n\n$$ w = \\log p $$ (eq-w)\n\n"
            "By {eq}`eq-w` and {numref}`Panel %s <eq-overlap>`, see {ref}`sec-fit`, {doc}`../book/intro`. "
            "{cite}`one,two` and {cite:t}`three`; {glue:text}`acc:.3f`.\n")
    book.labels["doc:intro"] = ("Introduction", "")
    out = render_markdown(text, book)
    assert "An LF is a vote." in out
    assert "$$\nZ = q q^T\n$$" in out and "$$ w = \\log p $$" in out and "(eq-" not in out
    assert "By Eq. (2.2) and Panel 2.1, see Fitting the model, Introduction." in out
    assert "(Ratner 2016; Fu and Chen 2020) and A et al. (2019); `acc`." in out
    assert not RAW_MYST.search(out)


def test_an_unknown_citation_is_an_error_naming_the_key():
    with pytest.raises(ValueError, match="'nobody2020'"):
        render_markdown("As {cite}`nobody2020` says.")


def test_exercises_are_numbered_and_admonitions_become_quotes():
    book = Book()
    book.start("05_text_and_keywords.ipynb")
    text = ("::::{exercise} Keywords\n:label: ex-kw\n\nWrite an {term}`LF`.\n::::\n\n"
            ":::{admonition} Why {term}`LFs <labeling function>`?\n:class: tip\nBecause.\n\nTwice.\n:::\n"
            "```{exercise}\nAgain, see {ref}`ex-kw`.\n```\n\n- a list\n\n  ```{warning}\n  Careful.\n  ```\n")
    out = render_markdown(text, book)
    assert out.startswith("**Exercise 5.1: Keywords**\n\nWrite an LF.\n\n> **Why LFs?**\n>\n> Because.\n>\n> Twice.\n")
    assert "**Exercise 5.2**\n\nAgain, see Exercise 5.1." in out
    assert "- a list\n\n  > **Warning**\n  >\n  > Careful.\n" in out
    assert not RAW_MYST.search(out)


def test_student_notebook_drops_solution_and_site_only_cells_outputs_and_metadata():
    nb = _nb(("markdown", "# Title\n\n```{exercise}\nQ\n```\n"),
             ("code", "answer = 42", ["solution", "hide-output"]),
             ("code", "from myst_nb import glue", ["site-only"]),
             ("markdown", ":::{solution}\nOnly this.\n:::"),
             ("code", "dp.say('x')", ["remove-input"]))
    nb.cells[-1].metadata["mystnb"] = {"figure": {"caption": "A plot.", "name": "fig-a"}}
    student = student_notebook(nb, Book(), "03_noise_aware_training.ipynb")
    assert [c.source for c in student.cells] == ["# Title\n\n**Exercise 3.1**\n\nQ", "dp.say('x')",
                                                 "**Figure 3.1.** A plot."]
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert [dict(c.metadata) for c in student.cells[:2]] == [{}, {"tags": ["remove-input"]}]
    assert "jupytext" not in student.metadata and "kernelspec" in student.metadata
    assert nb.cells[1].source == "answer = 42" and nb.cells[4].outputs  # the chapter itself is untouched


# --- Scaffolds ----------------------------------------------------------------------------

LF_CELL = f'''@dp.labeling_function()
def lf_link(comment):
    """+1 (spam) when the comment has a link."""
    {HOLE}
    if "http" in comment.text:
        return 1

    return 0


@dp.labeling_function()
def lf_short(comment):
    {HOLE}
    return -1 if len(comment.text) < 20 else 0

lfs = [lf_link, lf_short]'''


def test_scaffold_keeps_signatures_and_replaces_each_hole_with_a_todo():
    nb = _nb(("code", LF_CELL, ["scaffold-todo"]), ("code", "assert coverage >= 0.5", ["scaffold-check"]),
             ("code", f"# Fit the label model\n{HOLE}\nmodel = dp.LabelModel().fit(L)\nprint(model)", ["scaffold-todo"]))
    scaffold = scaffold_notebook(nb)
    lfs, check, fit = (c.source for c in scaffold.cells)
    assert lfs.count("raise NotImplementedError(\"TODO") == 2 and "http" not in lfs and "< 20" not in lfs
    assert '    """+1 (spam) when the comment has a link."""' in lfs and lfs.endswith("lfs = [lf_link, lf_short]")
    assert check == "assert coverage >= 0.5"
    assert fit.splitlines() == ["# Fit the label model", HOLE, 'raise NotImplementedError("TODO: your code here")']
    for cell in scaffold.cells:
        ast.parse(cell.source)  # still valid Python
    assert "http" in nb.cells[0].source  # the chapter itself is untouched


def test_a_todo_cell_without_the_marker_is_an_error_naming_it():
    nb = _nb(("code", "x = 1"), ("code", "def lf(x):\n    return 1", ["scaffold-todo"]))
    with pytest.raises(ValueError, match="cell 1 is tagged scaffold-todo"):
        scaffold_notebook(nb)


# --- The student edition of the real chapters ----------------------------------------------

@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student_edition(ROOT, out)
    return out


def test_student_edition_holds_every_chapter_and_the_helpers(edition):
    assert NOTEBOOKS, "no chapters yet"
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for folder in (edition, edition / "scaffolds"):
        assert (folder / "dp_helpers" / "__init__.py").is_file() and (folder / "dp_helpers" / "book.mplstyle").is_file()
    assert (edition / "requirements.txt").read_text() == (ROOT / "requirements-participant.txt").read_text()
    # the scaling chapter plots this table; outside the repository it must come along
    assert (edition / "benchmarks" / "scale.md").read_text() == (ROOT / "benchmarks" / "scale.md").read_text()
    assert "scaffolds/" in (edition / "README.md").read_text()
    assert not list(edition.rglob("__pycache__"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_chapter_has_no_solution_no_output_and_no_raw_myst(edition, path):
    chapter, student = nbformat.read(path, as_version=4), nbformat.read(edition / path.name, as_version=4)
    markdown = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert not RAW_MYST.search(markdown), RAW_MYST.search(markdown)
    source = "\n".join(c.source for c in chapter.cells if c.cell_type == "markdown")
    everything = "\n".join(c.source for c in chapter.cells)
    solutions = "\n".join(_directive_contents(source, "solution"))
    # Lines found only in solutions (long enough to be distinctive) must all be gone.
    only_there = {line.strip() for line in solutions.splitlines()
                  if len(line.strip()) > 30 and everything.count(line) == solutions.count(line)}
    assert not [line for line in only_there if line in markdown]
    assert markdown.count("**Exercise ") == len(_directive_contents(source, "exercise"))
    gone = [c.source for c in chapter.cells if {"solution", "site-only"} & set(c.metadata.get("tags", []))]
    kept = [c.source for c in student.cells]
    assert not [s for s in gone if s in kept]
    for cell in student.cells:
        assert set(cell.metadata) <= {"tags"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert set(student.metadata) <= {"kernelspec", "language_info"}


@pytest.mark.parametrize("stem", SCAFFOLDED)
def test_hands_on_chapters_give_scaffolds_with_a_todo_and_a_check(edition, stem):
    path = ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    tags = [set(c.metadata.get("tags", [])) for c in nbformat.read(path, as_version=4).cells]
    if not any("scaffold-todo" in t for t in tags):
        pytest.skip(f"{path.name} has no cell tagged scaffold-todo yet (see CONTRIBUTING.md, Tags)")
    assert any("scaffold-check" in t for t in tags), f"{path.name} has scaffold-todo cells but no scaffold-check cell"
    scaffold = nbformat.read(edition / "scaffolds" / path.name, as_version=4)
    todos = [c for c in scaffold.cells if "scaffold-todo" in c.metadata.get("tags", [])]
    assert todos and all("NotImplementedError(\"TODO" in c.source for c in todos)
    assert any("scaffold-check" in c.metadata.get("tags", []) for c in scaffold.cells)


def test_the_student_command_replaces_only_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tasks, "STUDENT", tmp_path / "student")
    assert tasks.student([]) == 0
    (tmp_path / "student" / "scaffolds" / "old.ipynb").write_text("{}")
    assert tasks.student([]) == 0  # a second run replaces the first, stale files and all
    assert not (tmp_path / "student" / "scaffolds" / "old.ipynb").exists()
    assert (tmp_path / "student" / NOTEBOOKS[0].name).exists()
    assert "exercises kept" in capsys.readouterr().out
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own notes")
    with pytest.raises(FileExistsError):
        make_student_edition(ROOT, foreign)
    assert (foreign / "notes.txt").exists()


# --- The offline bundle ------------------------------------------------------------------

def test_bundle_zips_the_site_the_student_edition_and_the_pdf(tmp_path, monkeypatch):
    build_dir, dist = tmp_path / "_build", tmp_path / "dist"

    def fake_build(args):  # stands in for the real (slow) site build
        (build_dir / "html" / "book").mkdir(parents=True)
        (build_dir / "html" / "index.html").write_text("<html></html>")
        (build_dir / "html" / "book" / "intro.html").write_text("<html></html>")
        return 0

    monkeypatch.setattr(tasks, "build", fake_build)
    monkeypatch.setattr(tasks, "BUILD", build_dir)
    monkeypatch.setattr(tasks, "STUDENT", tmp_path / "student")
    monkeypatch.setattr(tasks, "DIST", dist)
    monkeypatch.setattr(tasks, "PDF", dist / "book.pdf")
    monkeypatch.setattr(tasks, "BUNDLE", dist / "bundle.zip")
    dist.mkdir()
    (dist / "book.pdf").write_bytes(b"%PDF-1.4 stand-in")
    assert tasks.bundle([]) == 0
    names = zipfile.ZipFile(dist / "bundle.zip").namelist()
    assert {"README.txt", "book.pdf", "site/index.html", "site/book/intro.html", "student/README.md"} <= set(names)
    assert {f"student/{p.name}" for p in NOTEBOOKS} <= set(names)
    assert "student/dp_helpers/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".student-edition")]


# --- The workshop page, the glossary and Binder ------------------------------------------

def _plan() -> list[list[str]]:
    page = (ROOT / "book" / "workshop.md").read_text(encoding="utf-8")
    return [[cell.strip() for cell in line.split("|")[1:-1]]
            for line in page.splitlines() if re.match(r"\|\s*\d:\d\d\s*\|", line)]


def test_workshop_plan_fills_three_hours_with_breaks_a_buffer_and_two_hands_on_blocks():
    rows = _plan()
    minutes = [int(row[1]) for row in rows]
    assert sum(minutes) == 180, f"the plan lasts {sum(minutes)} minutes"
    clock = 0
    for row, length in zip(rows, minutes):  # each start time is the previous end
        hours, mins = map(int, row[0].split(":"))
        assert hours * 60 + mins == clock, f"row starting {row[0]} should start at {clock} min"
        clock += length
    assert sum("Break" in " ".join(row) for row in rows) == 2
    assert any(int(row[1]) >= 15 and "setup" in " ".join(row).lower() for row in rows)
    label_model = [row for row in rows if "02_label_model" in row[2]]
    lf_block = [row for row in rows if "scaffold" in " ".join(row).lower() and "02_label_model" not in row[2]]
    assert [int(r[1]) for r in label_model] == [45] and [int(r[1]) for r in lf_block] == [45]


def test_teacher_and_reference_pages_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    assert "file: book/workshop" in toc and "file: book/glossary" in toc


def test_binder_installs_the_participant_requirements_and_the_package():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "-r ../requirements-participant.txt" in requirements.splitlines()
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    version = tuple(map(int, (ROOT / "binder" / "runtime.txt").read_text().strip().split("-")[1].split(".")))
    low, high = tasks.PYTHONS
    assert low <= version <= high, f"Binder's Python {version} is outside {tasks.PYTHONS}"


def test_the_tools_docstring_examples_run():
    import doctest

    import booktools.student

    assert doctest.testmod(booktools.student).failed == 0
