"""Site and teaching tools behind ``tasks.py``: standard library only.

- ``browser``: serve a built site on loopback and drive headless Chromium over the
  DevTools protocol (page checks, screenshots, the whole-book PDF).
- ``student``: the student edition of the notebooks (solutions removed, outputs cleared).
- ``site_extras``: a Sphinx extension for the site (``.md`` download button, script fixes).

Nothing here imports a third-party package, so ``tasks.py`` can use it before ``.venv`` exists.
"""
