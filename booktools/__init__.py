"""Site and teaching tools behind ``tasks.py``.

- ``browser``: Playwright driving Debian's ``chromium`` for the site, PDF and JupyterLab tests
  (needs ``.venv``).
- ``student``: the student edition and the workshop scaffolds (needs ``.venv``: nbformat, nbconvert,
  markdown-it-py, pybtex; ``tasks.py`` runs it there).
- ``site_extras``: a Sphinx extension for the book's site.
"""
