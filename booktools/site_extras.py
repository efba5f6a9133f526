"""A small Sphinx extension for the book's site, loaded through ``_config.yml`` (local_extensions).

1. **A ``.md`` download button on notebook pages.** Each chapter is a ``.ipynb`` with a paired
   Jupytext ``.md`` twin. The theme offers the ``.ipynb`` (the page's source); this copies the
   twin next to it into ``_sources/`` and adds a ``.md`` entry to the same download menu.
2. **No duplicate inline scripts.** Under Jupyter Book, sphinx-thebe registers its configuration
   script (``const THEBE_JS_URL = ...``) twice, so every page threw "Identifier 'THEBE_JS_URL'
   has already been declared". Identical script entries are emitted once.
3. **HTML node handlers in the single-page build.** sphinx-exercise registers its nodes for the
   ``singlehtml`` builder by name, and Sphinx then ignores every handler registered for plain
   ``html`` there, so sphinx-design's tabs fail with "unknown node type: sd_tab_input" in the
   build behind ``python3 tasks.py pdf``. The ``html`` handlers are copied over.
(Display equations that fit the printed column: ``book/_static/fit-math.js`` with ``book.css``.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

def _md_twin(app, pagename: str) -> Path | None:
    if pagename not in app.env.found_docs:
        return None
    source = Path(app.env.doc2path(pagename))
    twin = source.with_suffix(".md")
    return twin if source.suffix == ".ipynb" and twin.is_file() else None


def add_md_download(app, pagename, templatename, context, doctree) -> None:
    twin = _md_twin(app, pagename)
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "download-buttons"]
    if twin is None or not groups:
        return
    target = Path(app.outdir, "_sources", pagename + ".md")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(twin, target)
    buttons = groups[0]["buttons"]
    position = next((i + 1 for i, b in enumerate(buttons) if b.get("label") == "download-source-button"),
                    len(buttons))
    buttons.insert(position, {
        "type": "link", "url": f"{context['pathto']('_sources', 1)}/{pagename}.md", "text": ".md",
        "tooltip": "Download the paired Markdown (Jupytext) file", "icon": "fab fa-markdown",
        "label": "download-md-button"})


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # Inline scripts come with filename None or "", depending on who added them.
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def share_html_handlers(app) -> None:
    handlers = app.registry.translation_handlers
    name = app.builder.name
    if app.builder.format == "html" and name != "html" and name in handlers:
        for node, pair in handlers.get("html", {}).items():
            handlers[name].setdefault(node, pair)


def setup(app):
    app.connect("builder-inited", share_html_handlers)
    # After sphinx-book-theme (priority 501) has built the header buttons.
    app.connect("html-page-context", add_md_download, priority=600)
    app.connect("html-page-context", drop_duplicate_scripts, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
