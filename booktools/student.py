"""The student edition and the workshop scaffolds, chapters that read in Colab and plain Jupyter: cells go by
their tags (nbformat, nbconvert's preprocessors), and markdown-it-py with the MyST plugins finds the roles and
directives in the prose, which become plain Markdown. Needs ``.venv``."""
from __future__ import annotations

import re
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins import colon_fence, deflist, dollarmath, myst_blocks, myst_role
from nbconvert.preprocessors import ClearMetadataPreprocessor, ClearOutputPreprocessor, TagRemovePreprocessor
from pybtex.database import parse_file

MD = (MarkdownIt("commonmark").enable("table").use(myst_role.myst_role_plugin)
      .use(myst_blocks.myst_block_plugin).use(colon_fence.colon_fence_plugin)
      .use(dollarmath.dollarmath_plugin, allow_labels=True).use(deflist.deflist_plugin))
ADMONITIONS = {"admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso"}
OPTIONS = re.compile(r"---\n(?:.*\n)*?---\n|(?::[\w-]+:.*\n)*")  # a directive's YAML or ``:key: value`` lines
OPTION = re.compile(r"^:?([\w-]+):[ \t]*(.*)$", re.M)
HOLE = "# --- your code below ---"
# A hole: the marker line and the lines after it indented at least as deep, up to the last non-blank one.
HOLE_LINES = re.compile(rf"^([ \t]*){re.escape(HOLE)}$(?:(?:\n[ \t]*)*\n\1.*\S.*)*", re.M)
TODO = rf'\1{HOLE}\n\1raise NotImplementedError("TODO: your code here")'  # what HOLE_LINES become
MARKER = ".student-edition"
README = Path(__file__).with_name("student-README.md")  # the student folder's README


class Book:
    """What roles refer to: labels (numbered per chapter, registered as chapters are rendered; render
    them all twice for forward references), page titles (``doc:stem``) and ``references.bib``."""

    def __init__(self, bib: Path | None = None):
        self.labels, self.chapter, self.counts, self.bib = {}, "", Counter(), {}
        for key, entry in parse_file(str(bib)).entries.items() if bib else []:
            people = entry.persons.get("author") or entry.persons.get("editor", [])
            last = [" ".join(person.last_names).strip("{}") for person in people]
            who = " and ".join(last) if len(last) < 3 else f"{last[0]} et al."
            self.bib[key] = (who, entry.fields.get("year", "n.d."))

    def start(self, name: str) -> None:
        """Begin chapter ``name``, numbered by the file name's prefix (``02_label_model``: 2)."""
        self.chapter, self.counts = (f"{int(name[:2])}." if name[:2].isdigit() else ""), Counter()

    def number(self, word: str, label: str | None) -> str:
        """The chapter's next Exercise, Figure or Eq. number, registered under ``label`` if any."""
        self.counts[word] += 1
        if label:
            self.labels[label] = (word, f"{self.chapter}{self.counts[word]}")
        return f"{self.chapter}{self.counts[word]}"


def _role(name: str, content: str, book: Book) -> str:
    text, _, target = content[:-1].rpartition(" <") if content.endswith(">") else ("", "", content)
    if name.startswith("cite"):
        if missing := [key.strip() for key in target.split(",") if key.strip() not in book.bib]:
            raise ValueError(f"{{{name}}}`{content}`: no entry {missing[0]!r} in the bibliography")
        cited = [book.bib[key.strip()] for key in target.split(",")]
        return (", ".join(f"{who} ({year})" for who, year in cited) if name == "cite:t"
                else "(" + "; ".join(f"{who} {year}" for who, year in cited) + ")")
    if name.startswith("glue"):  # chapters not yet converted to dp.say: the value's name
        return f"`{target.split(':')[0]}`"
    if name not in {"ref", "numref", "eq", "doc"}:  # {term}, {abbr}, ...: their text
        return f"${content}$" if name == "math" else text or target
    key = f"doc:{Path(target).name}" if name == "doc" else target
    if key not in book.labels:  # a label outside the chapters
        return text or (Path(target).name if name == "doc" else f"`{target}`")
    word, number = book.labels[key]
    if text:
        return text.replace("%s", number).replace("{number}", number)
    return f"{word} ({number})" if word == "Eq." else f"{word} {number}".strip()


def _directive(name: str, arg: str, content: str, book: Book) -> str:
    if name in {"solution-start", "solution-end"}:
        raise ValueError("gated {solution-start} blocks are not supported: write a {solution} block")
    head = OPTIONS.match(content)
    options, source = dict(OPTION.findall(head[0])), content[head.end():].rstrip("\n")
    if name in {"code-block", "code", "code-cell", "math"}:
        return f"$$\n{source}\n$$\n" if name == "math" else f"```{arg}\n{source}\n```\n"
    body, title = render_markdown(source, book).rstrip("\n"), render_markdown(arg, book).strip()
    if name == "exercise":
        number = book.number("Exercise", options.get("label"))
        return f"**Exercise {number}{': ' + title if title else ''}**\n\n{body}\n"
    if name in ADMONITIONS:
        title = title if name == "admonition" else "See also" if name == "seealso" else name.capitalize()
        return "".join(f"> {line}".rstrip() + "\n" for line in f"**{title}**\n\n{body}".splitlines())
    if name.endswith("figure"):  # {figure}, {glue:figure}
        return f"**Figure {book.number('Figure', options.get('name'))}.** {body}\n"
    return "" if name == "solution" else f"{body}\n"


def render_markdown(text: str, book: Book | None = None) -> str:
    """One cell's MyST Markdown as plain Markdown: roles as text, directives rewritten, solutions and
    labels removed, runs of blank lines made one. ``book`` (by default a new one) resolves the roles.

    >>> render_markdown("A {term}`vote <labeling function>`.\\n\\n:::{solution}\\nSecret.\\n:::\\n")
    'A vote.\\n'
    """
    book, lines, target = book if book is not None else Book(), text.splitlines(keepends=True), None
    for token in MD.parse(text):
        (start, end), new = token.map or (0, 0), None  # new: the text of lines[start:end] as a block
        if token.type in {"fence", "colon_fence"} and re.match(r"\{[^}]+\}", token.info):
            name, _, arg = token.info[1:].partition("}")
            indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]  # in a list item
            new = textwrap.indent(_directive(name, arg.strip(), token.content, book), indent)
        elif token.type == "math_block_label":  # $$ ... $$ (label): the label goes
            new = f"$${token.content}$$\n"
            book.number("Eq.", token.info)
        elif token.type in {"myst_target", "myst_line_comment", "myst_block_break"}:
            new, target = "", token.content if token.type == "myst_target" else target
        elif token.type == "inline":
            for role in (child for child in token.children or [] if child.type == "myst_role"):
                name = role.meta["name"]
                markup, plain = f"{{{name}}}`{role.content}`", _role(name, role.content, book)
                lines[start:end] = [line.replace(markup, plain) for line in lines[start:end]]
            if target:  # (label)= before a heading: {ref}`label` is the heading's text
                book.labels[target], target = (token.content, ""), None
        if new is not None:  # as many lines as before, so the later tokens' line numbers hold
            lines[start:end] = [new + "\n" * bool(new)] + [""] * (end - start - 1)
    out = re.sub(r"\n(?:[ \t]*\n)+", "\n\n", "".join(lines)).strip("\n")
    return out + "\n" if out.strip() else ""


def student_notebook(nb: nbformat.NotebookNode, book: Book | None = None,
                     name: str = "") -> nbformat.NotebookNode:
    """The student edition of chapter ``nb`` (left as it is) from file ``name``, whose prefix numbers it:
    cells tagged ``solution`` or ``site-only`` go, markdown goes through :func:`render_markdown`, a figure
    cell gets its ``mystnb.figure`` caption after it, and outputs and all metadata but tags go."""
    book = book if book is not None else Book()
    book.start(name)
    remove = TagRemovePreprocessor(remove_cell_tags={"solution", "site-only"})
    nb, resources = remove.preprocess(nbformat.from_dict(nb), {})  # from_dict: a deep copy
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # ClearMetadataPreprocessor clears code cells only
            cell.source = render_markdown(cell.source, book).rstrip("\n")
            cell.metadata = {"tags": cell.metadata.tags} if "tags" in cell.metadata else {}
        if cell.source.startswith("# ") and name:  # the chapter's title, for {doc}
            book.labels.setdefault(f"doc:{Path(name).stem}", (cell.source.splitlines()[0][2:], ""))
        cells += [cell] if cell.source or cell.cell_type == "code" else []
        if (figure := cell.metadata.get("mystnb", {}).get("figure", {})).get("caption"):
            caption = render_markdown(figure["caption"], book).strip()
            number = book.number("Figure", figure.get("name"))
            cells.append(nbformat.v4.new_markdown_cell(f"**Figure {number}.** {caption}"))
    nb.cells = cells
    for clear in (ClearOutputPreprocessor(), ClearMetadataPreprocessor(
            preserve_cell_metadata_mask={"tags"}, preserve_nb_metadata_mask={"kernelspec", "language_info"})):
        nb, resources = clear.preprocess(nb, resources)
    return nb


def scaffold_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Stub out the participant's code in ``nb`` (best a student edition; left as it is).

    In a code cell tagged ``scaffold-todo``, each line ``# --- your code below ---`` opens a hole: the
    lines after it indented at least as deep (the rest of its block; the rest of the cell at the left
    margin) become ``raise NotImplementedError("TODO: ...")``; the blank lines after the hole stay.
    A ``scaffold-todo`` cell without the line is a ValueError naming the cell.
    """
    nb = nbformat.from_dict(nb)
    for index, cell in enumerate(nb.cells):
        if "scaffold-todo" in cell.metadata.get("tags", []):
            if HOLE not in cell.source:
                raise ValueError(f"cell {index} is tagged scaffold-todo but has no line {HOLE!r}; "
                                 f"it starts {cell.source[:60]!r}")
            cell.source = HOLE_LINES.sub(TODO, cell.source)
    return nb


def make_student_edition(root: Path, out: Path) -> list[tuple[str, int, int]]:
    """Write the student edition of ``root``'s chapters into ``out`` and the scaffolds into ``out/scaffolds``,
    replacing them (a folder this function did not make is a FileExistsError); for each chapter, return
    (notebook, exercises, scaffold-todo cells)."""
    book = Book(root / "book" / "references.bib")
    for page in (root / "book").glob("*.md"):  # page titles, for {doc}
        lines = page.read_text(encoding="utf-8").splitlines()
        book.labels[f"doc:{page.stem}"] = (next((s[2:] for s in lines if s.startswith("# ")), page.stem), "")
    chapters = {p: nbformat.read(p, as_version=4) for p in sorted((root / "notebooks").glob("*.ipynb"))}
    for path, nb in chapters.items():  # a first pass registers every label, so forward references resolve
        student_notebook(nb, book, path.name)
    if out.exists() and not (out / MARKER).exists():
        raise FileExistsError(f"{out} exists and is not a student edition; not overwriting it")
    shutil.rmtree(out, ignore_errors=True)
    for folder in (out, out / "scaffolds"):  # each with the package its notebooks import
        shutil.copytree(root / "dp_helpers", folder / "dp_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (out / MARKER).write_text("Made by `python3 tasks.py student`; replaced on every run.\n")
    shutil.copy2(README, out / "README.md")
    shutil.copy2(root / "requirements-participant.txt", out / "requirements.txt")
    (out / "benchmarks").mkdir()  # chapters 5 and 8 read committed benchmark tables
    for table in ("scale.md", "class_conditional.md"):
        shutil.copy2(root / "benchmarks" / table, out / "benchmarks" / table)
    summary = []
    for path, nb in chapters.items():
        student = student_notebook(nb, book, path.name)
        todos = sum("scaffold-todo" in cell.metadata.get("tags", []) for cell in student.cells)
        summary.append((path.name, book.counts["Exercise"], todos))
        nbformat.write(student, out / path.name)
        if todos:
            nbformat.write(scaffold_notebook(student), out / "scaffolds" / path.name)
    return summary
