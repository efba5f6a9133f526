"""The student edition and the workshop scaffolds: chapters that read in Colab and plain Jupyter.

Cells go by their tags (nbformat, nbconvert's preprocessors); the prose is parsed with markdown-it-py
and the MyST plugins, and every MyST role and directive becomes plain Markdown. Needs ``.venv``.
"""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins import colon_fence, deflist, dollarmath, myst_blocks, myst_role
from nbconvert.preprocessors import ClearMetadataPreprocessor, ClearOutputPreprocessor, TagRemovePreprocessor

MD = (MarkdownIt("commonmark").use(myst_role.myst_role_plugin).use(myst_blocks.myst_block_plugin).enable("table")
      .use(colon_fence.colon_fence_plugin).use(dollarmath.dollarmath_plugin, allow_labels=True).use(deflist.deflist_plugin))
ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger", "error", "seealso"}
HOLE = "# --- your code below ---"
MARKER = ".student-edition"
README = """\
# Data Programming, Hands-On: student notebooks

One notebook per chapter, with the exercises but not their solutions (they are on the book's site),
no cell run yet. In `scaffolds/`, the workshop's notebooks, fill in each cell that raises
`NotImplementedError("TODO ...")`, then run the check after it. A copy of `dp_helpers` is beside the
notebooks; install the rest with `python3 -m venv .venv` and `.venv/bin/python -m pip install -r
requirements.txt` (offline: add `--no-index --find-links WHEELS`), then run `.venv/bin/jupyter lab`.
"""


class Book:
    """What roles refer to: labels (numbered per chapter, registered as chapters are rendered; render
    them all twice for forward references), page titles (``doc:stem``) and ``references.bib``."""

    def __init__(self, bib: Path | None = None):
        from pybtex.database import parse_file

        def authors(people):
            last = [" ".join(p.last_names).strip("{}") for p in people]
            return last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else f"{last[0]} et al."
        entries = parse_file(str(bib)).entries.items() if bib else []
        self.bib = {k: (authors(e.persons.get("author") or e.persons.get("editor", [])), e.fields.get("year", "n.d."))
                    for k, e in entries}
        self.labels, self.chapter, self.counts = {}, "", Counter()

    def start(self, name: str) -> None:
        """Begin chapter ``name``; its number is the file name's prefix (``02_label_model``: 2)."""
        prefix = name.split("_")[0]
        self.chapter, self.counts = (f"{int(prefix)}." if prefix.isdigit() else ""), Counter()

    def number(self, word: str, label: str | None) -> str:
        self.counts[word] += 1
        number = f"{self.chapter}{self.counts[word]}"
        if label:
            self.labels[label] = (word, number)
        return number


def _role(name: str, content: str, book: Book) -> str:
    text, _, target = content[:-1].rpartition(" <") if content.endswith(">") else ("", "", content)
    if name.startswith("cite"):
        if missing := [k for k in target.split(",") if k.strip() not in book.bib]:
            raise ValueError(f"{{{name}}}`{content}`: no entry {missing[0].strip()!r} in the bibliography")
        found = [book.bib[k.strip()] for k in target.split(",")]
        if name == "cite:t":
            return ", ".join(f"{who} ({year})" for who, year in found)
        return "(" + "; ".join(f"{who} {year}" for who, year in found) + ")"
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
    lines, options = content.splitlines(), {}
    if lines and lines[0].strip() == "---":  # YAML options
        end = lines.index("---", 1)
        lines, options_lines = lines[end + 1:], lines[1:end]
    else:
        options_lines = []
        while lines and lines[0].startswith(":") and lines[0].count(":") > 1:  # :key: value
            options_lines.append(lines.pop(0)[1:])
    options = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in options_lines)}
    body, title = render_markdown("\n".join(lines), book).rstrip("\n"), render_markdown(arg, book).strip()
    if name in {"solution-start", "solution-end"}:
        raise ValueError("gated {solution-start} blocks are not supported: write a {solution} block")
    if name == "solution":
        return ""
    if name == "exercise":
        return f"**Exercise {book.number('Exercise', options.get('label'))}{': ' + title if title else ''}**\n\n{body}\n"
    if name in ADMONITIONS | {"admonition"}:
        title = title if name == "admonition" else "See also" if name == "seealso" else name.capitalize()
        return "".join(f"> {line}".rstrip() + "\n" for line in f"**{title}**\n\n{body}".splitlines())
    if name == "math":
        book.number("Eq.", options.get("label"))
        return f"$$\n{body}\n$$\n"
    if name in {"figure", "glue:figure"}:
        return f"**Figure {book.number('Figure', options.get('name'))}.** {body}\n"
    return f"```{arg}\n{chr(10).join(lines)}\n```\n" if name in {"code-block", "code", "code-cell"} else f"{body}\n"


def render_markdown(text: str, book: Book | None = None) -> str:
    """Render MyST Markdown as plain Markdown: roles as text, directives rewritten, solutions removed.

    Parameters
    ----------
    text : str
        The Markdown of one cell (or a directive's body).
    book : Book, optional
        What the roles refer to; a new, empty register by default.

    Examples
    --------
    >>> render_markdown("A {term}`vote <labeling function>`.\\n\\n:::{solution}\\nSecret.\\n:::\\n")
    'A vote.\\n'
    """
    book = book if book is not None else Book()
    lines, blocks, target = text.splitlines(keepends=True), {}, None
    for token in MD.parse(text):
        start, end = token.map or (0, 0)
        if token.type in {"fence", "colon_fence"} and token.info.startswith("{") and "}" in token.info:
            name, _, arg = token.info[1:].partition("}")
            indent = lines[start][:len(lines[start]) - len(lines[start].lstrip())]
            new = _directive(name, arg.strip(), token.content, book)
            blocks[start] = (end, "".join(indent + line for line in new.splitlines(keepends=True)))
        elif token.type == "math_block_label":
            book.number("Eq.", token.info)
            blocks[start] = (end, f"$${token.content}$$\n")
        elif token.type in {"myst_target", "myst_line_comment", "myst_block_break"}:
            blocks[start], target = (end, ""), token.content if token.type == "myst_target" else target
        elif token.type == "inline":
            for role in (c for c in token.children or [] if c.type == "myst_role"):
                markup, new = f"{{{role.meta['name']}}}`{role.content}`", _role(role.meta["name"], role.content, book)
                lines[start:end] = [line.replace(markup, new) for line in lines[start:end]]
            if target:  # (label)= before a heading: {ref}`label` is the heading's text
                book.labels[target], target = (token.content, ""), None
    out, i = [], 0
    while i < len(lines):
        end, new = blocks.get(i, (i + 1, lines[i]))
        after = lines[end].strip() if end < len(lines) else ""
        out.append(new + ("\n" if i in blocks and new and after else ""))  # a blank line before the next block
        i = end + (not new and end < len(lines) and not after)  # a removed block takes its blank line along
    return "".join(out).strip("\n") + "\n" if "".join(out).strip() else ""


def student_notebook(nb: nbformat.NotebookNode, book: Book | None = None, name: str = "") -> nbformat.NotebookNode:
    """The student edition of chapter ``nb`` (not changed), as a new notebook.

    Cells tagged ``solution`` or ``site-only`` go, markdown goes through :func:`render_markdown`,
    a figure cell is followed by its ``mystnb.figure`` caption, and outputs and all metadata but
    tags (Jupytext pairing, ``jupyter.source_hidden``) are cleared.

    Parameters
    ----------
    nb : nbformat.NotebookNode
    book : Book, optional
    name : str, optional
        The file name, whose numeric prefix numbers equations, figures and exercises.
    """
    book = book if book is not None else Book()
    book.start(name)
    remove = TagRemovePreprocessor(remove_cell_tags={"solution", "site-only"})
    nb, resources = remove.preprocess(nbformat.from_dict(nb), {})  # a deep copy first
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = render_markdown(cell.source, book).rstrip("\n")
            cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}  # the preprocessor: code only
            if not cell.source:
                continue
        if cell.source.startswith("# ") and name and f"doc:{Path(name).stem}" not in book.labels:
            book.labels[f"doc:{Path(name).stem}"] = (cell.source.splitlines()[0][2:], "")  # {doc}: the title
        cells.append(cell)
        if cell.cell_type == "code" and (figure := cell.metadata.get("mystnb", {}).get("figure", {})).get("caption"):
            number = book.number("Figure", figure.get("name"))
            cells.append(nbformat.v4.new_markdown_cell(f"**Figure {number}.** {figure['caption']}"))
    nb.cells = cells
    nb, resources = ClearOutputPreprocessor().preprocess(nb, resources)
    return ClearMetadataPreprocessor(preserve_cell_metadata_mask={"tags"},
                                     preserve_nb_metadata_mask={"kernelspec", "language_info"}).preprocess(nb, resources)[0]


def scaffold_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Stub out the participant's code in a chapter (best a student edition): a new notebook.

    In a code cell tagged ``scaffold-todo``, each line ``# --- your code below ---`` opens a hole:
    the lines after it that are blank or indented at least as deep (the rest of its block; the rest
    of the cell at the left margin) become ``raise NotImplementedError("TODO: ...")``. Lines before
    the marker (signature, docstring, a first comment) stay, and so do ``scaffold-check`` cells.

    Raises
    ------
    ValueError
        If a ``scaffold-todo`` cell has no marker line (the message names the cell).
    """
    nb = nbformat.from_dict(nb)
    for index, cell in enumerate(nb.cells):
        if "scaffold-todo" not in cell.metadata.get("tags", []):
            continue
        out, hole, blanks = [], None, 0
        for line in cell.source.splitlines():
            depth = len(line) - len(line.lstrip())
            if hole is not None and (not line.strip() or depth >= hole):
                blanks = 0 if line.strip() else blanks + 1  # blank lines that end the hole stay
                continue
            out += [""] * blanks + [line]
            blanks, hole = 0, depth if line.strip() == HOLE else None
            if hole is not None:
                out.append(" " * depth + 'raise NotImplementedError("TODO: your code here")')
        if HOLE not in cell.source:
            raise ValueError(f"cell {index} is tagged scaffold-todo but has no line {HOLE!r}; it starts {cell.source[:80]!r}")
        cell.source = "\n".join(out)
    return nb


def make_student_edition(root: Path, out: Path, scaffolds_only: bool = False) -> list[tuple[str, int, int]]:
    """Write the student edition of ``root``'s chapters into ``out`` and the scaffolds into ``out/scaffolds``.

    ``out`` (or only ``out/scaffolds``) is replaced; a folder this function did not make raises
    FileExistsError. Returns (notebook, exercises, scaffold-todo cells) for each chapter.
    """
    book = Book(root / "book" / "references.bib")
    for page in sorted((root / "book").glob("*.md")):
        titles = [line[2:] for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("# ")]
        book.labels[f"doc:{page.stem}"] = ((titles or [page.stem])[0], "")
    chapters = {p: nbformat.read(p, as_version=4) for p in sorted((root / "notebooks").glob("*.ipynb"))}
    for path, nb in chapters.items():  # the first pass registers every label, so forward references resolve
        student_notebook(nb, book, path.name)
    folders = [out / "scaffolds"] if scaffolds_only else [out, out / "scaffolds"]
    for folder in folders:
        if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
            raise FileExistsError(f"{folder} exists and is not a student edition; not overwriting it")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(root / "dp_helpers", folder / "dp_helpers", ignore=shutil.ignore_patterns("__pycache__"))
        (folder / MARKER).write_text("Made by `python3 tasks.py student`; replaced on every run.\n")
    if not scaffolds_only:
        (out / "README.md").write_text(README, encoding="utf-8")
        shutil.copy2(root / "requirements-participant.txt", out / "requirements.txt")
        (out / "benchmarks").mkdir()  # the scaling chapter plots the committed benchmark table
        shutil.copy2(root / "benchmarks" / "scale.md", out / "benchmarks" / "scale.md")
    summary = []
    for path, nb in chapters.items():
        student = student_notebook(nb, book, path.name)
        todos = sum("scaffold-todo" in c.metadata.get("tags", []) for c in student.cells)
        summary.append((path.name, book.counts["Exercise"], todos))
        if not scaffolds_only:
            nbformat.write(student, out / path.name)
        if todos:
            nbformat.write(scaffold_notebook(student), out / "scaffolds" / path.name)
    return summary
