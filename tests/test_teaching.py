"""The teacher's material: the student edition, the offline bundle, the workshop plan, Binder.

Fast tests (no build, no browser): the student edition is made from the real chapters into a
temporary folder, and the bundle from a stand-in site.
"""

from __future__ import annotations

import json
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
from booktools.student import count_directives, make_student_edition, strip_solutions, student_notebook  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TEXTS = sorted((ROOT / "notebooks").glob("*.md"))


def _nb(*cells: tuple[str, str]) -> dict:
    """A minimal nbformat-4 notebook from (cell type, source) pairs."""
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        if kind == "code":
            cell = nbformat.v4.new_code_cell(source, execution_count=1,
                                             outputs=[nbformat.v4.new_output("stream", text="out\n")])
        else:
            cell = nbformat.v4.new_markdown_cell(source)
        nb.cells.append(cell)
    nb.metadata["jupytext"] = {"formats": "ipynb,md:myst"}
    return json.loads(nbformat.writes(nb))


# --- Removing solutions ------------------------------------------------------------------

@pytest.mark.parametrize("fence", ["```", "````", "`````", ":::", "::::"])
def test_solution_blocks_are_removed_whatever_their_fence(fence):
    inner = "```python\nx = 1\n```\n" if len(fence) > 3 and fence[0] == "`" else "$$x = 1$$\n"
    text = (f"Before.\n\n```{{exercise}}\n:label: ex-a\n\nTry it.\n```\n\n"
            f"{fence}{{solution}} ex-a\n:class: dropdown\n\nThe answer.\n{inner}{fence}\n\nAfter.\n")
    stripped, removed = strip_solutions(text)
    assert removed == 1
    assert "{solution}" not in stripped and "The answer" not in stripped and "x = 1" not in stripped
    assert "Try it." in stripped and stripped.startswith("Before.") and stripped.endswith("After.\n")


def test_a_shorter_nested_fence_does_not_end_the_solution():
    text = "````{solution} ex-a\n```python\nsecret = 42\n```\nmore secret\n````\nkept\n"
    stripped, removed = strip_solutions(text)
    assert (stripped, removed) == ("kept\n", 1)


def test_exercises_and_other_directives_are_kept():
    text = "```{exercise}\n:label: ex-a\nQ\n```\n```{note}\nN\n```\n```{solution} ex-a\nA\n```\n"
    stripped, removed = strip_solutions(text)
    assert removed == 1
    assert count_directives(stripped, "exercise") == 1 and count_directives(stripped, "note") == 1


def test_gated_solution_spanning_cells_goes_with_its_code_cells():
    nb = _nb(("markdown", "```{exercise-start}\n:label: ex-g\n```\nQuestion\n```{exercise-end}\n```"),
             ("markdown", "Intro.\n\n```{solution-start} ex-g\n:class: dropdown\n```\nIn words."),
             ("code", "answer = 42"),
             ("markdown", "Still the solution.\n```{solution-end}\n```\nAfter the solution."),
             ("code", "print('kept')"))
    student, removed = student_notebook(nb)
    sources = ["".join(c["source"]) for c in student["cells"]]
    assert removed == 1
    assert sources[1] == "Intro." and sources[2] == "After the solution." and sources[3] == "print('kept')"
    assert not any("answer = 42" in s or "{solution" in s or "In words" in s for s in sources)


def test_a_gated_solution_without_its_end_is_an_error():
    with pytest.raises(ValueError, match="solution-end"):
        strip_solutions("```{solution-start} ex-a\n```\nnever closed\n")


def test_student_notebook_has_no_outputs_and_no_pairing():
    nb = _nb(("markdown", "# Title"), ("code", "x = 1"))
    student, _ = student_notebook(nb)
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "jupytext" not in student["metadata"]
    nbformat.validate(nbformat.from_dict(student))


def test_cells_that_only_compute_numbers_for_solutions_are_dropped():
    nb = _nb(("markdown", "Prose quotes {glue:text}`shown:.2f`."),
             ("code", "glue('shown', 0.5)"),
             ("markdown", "```{solution} ex-a\nThe answer is {glue:text}`answer:.3f`.\n```"),
             ("code", "# Numbers quoted in the solutions.\nanswer_value = 0.95 ** 20\nglue('answer', answer_value)"),
             ("code", "glue('mixed', 1); glue('shown_too', 2)"),
             ("markdown", "Also {glue}`shown_too`."))
    student, _ = student_notebook(nb)
    code = ["".join(c["source"]) for c in student["cells"] if c["cell_type"] == "code"]
    assert code == ["glue('shown', 0.5)", "glue('mixed', 1); glue('shown_too', 2)"]


def test_a_solution_cell_that_later_cells_need_is_kept():
    nb = _nb(("markdown", "```{solution} ex-a\n{glue:text}`answer`\n```"),
             ("code", "data = load()\nglue('answer', data.mean())"),
             ("code", "data.plot()"))
    student, _ = student_notebook(nb)
    assert len([c for c in student["cells"] if c["cell_type"] == "code"]) == 2


# --- The student edition of the real chapters --------------------------------------------

@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    make_student_edition(ROOT, out)
    return out


def test_student_edition_holds_every_chapter_and_the_helpers(edition):
    assert NOTEBOOKS, "no chapters yet"
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert (edition / "dp_helpers" / "__init__.py").is_file()
    assert (edition / "dp_helpers" / "book.mplstyle").is_file()
    assert (edition / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    # the scaling chapter plots this table; outside the repository it must come along
    assert (edition / "benchmarks" / "scale.md").read_text() == (ROOT / "benchmarks" / "scale.md").read_text()
    assert not list(edition.rglob("__pycache__"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_solution_survives_in_the_student_edition(edition, path):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(edition / path.name, as_version=4)
    nbformat.validate(student)
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text, f"{path.name}: a solution directive survived"
    markdown = "\n".join(c.source for c in original.cells if c.cell_type == "markdown")
    everything = "\n".join(c.source for c in original.cells)
    blocks = [body for _, body in re.findall(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1\s*$",
                                              markdown, re.M | re.S)]
    solutions = "\n".join(blocks)
    # Lines that the original has only inside solutions must all be gone.
    only_there = {line for line in solutions.splitlines()
                  if len(line.strip()) > 20 and everything.count(line) == solutions.count(line)}
    survivors = [line for line in only_there if line in text]
    assert not survivors, f"{path.name}: solution text survived: {survivors[:3]}"
    # The exercises stay.
    for name in ("exercise", "exercise-start"):
        assert count_directives(text, name) == count_directives(markdown, name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_notebooks_start_unexecuted(edition, path):
    student = nbformat.read(edition / path.name, as_version=4)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "jupytext" not in student.metadata


@pytest.mark.parametrize("path", TEXTS, ids=[p.stem for p in TEXTS])
def test_paired_text_files_lose_the_same_solutions(path):
    text = path.read_text(encoding="utf-8")
    stripped, removed = strip_solutions(text)
    assert removed == count_directives(text, "solution") + count_directives(text, "solution-start")
    assert "{solution" not in stripped
    assert count_directives(stripped, "exercise") == count_directives(text, "exercise")


def test_the_student_command_replaces_only_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tasks, "STUDENT", tmp_path / "student")
    assert tasks.student([]) == 0
    assert tasks.student([]) == 0  # a second run replaces the first
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

def test_workshop_plan_fills_three_hours_and_covers_seven_chapters():
    page = (ROOT / "book" / "workshop.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:-1] for line in page.splitlines() if re.match(r"\|\s*\d:\d\d\s*\|", line)]
    minutes = [int(row[1]) for row in rows]
    assert sum(minutes) == 180, f"the plan lasts {sum(minutes)} minutes"
    clock = 0
    for row, length in zip(rows, minutes):  # each start time is the previous end
        hours, mins = map(int, row[0].strip().split(":"))
        assert hours * 60 + mins == clock, f"row starting {row[0].strip()} should start at {clock} min"
        clock += length
    chapters = {row[2].strip().split(",")[0].split(" ")[0] for row in rows}
    assert {str(n) for n in range(1, 8)} <= chapters


def test_teacher_and_reference_pages_are_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    assert "file: book/workshop" in toc and "file: book/glossary" in toc


def test_binder_installs_the_pinned_requirements_and_the_package():
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "-r ../requirements.txt" in requirements.splitlines()
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    version = tuple(map(int, (ROOT / "binder" / "runtime.txt").read_text().strip().split("-")[1].split(".")))
    low, high = tasks.PYTHONS
    assert low <= version <= high, f"Binder's Python {version} is outside {tasks.PYTHONS}"


def test_the_tools_docstring_examples_run():
    import doctest

    import booktools.student

    assert doctest.testmod(booktools.student).failed == 0
