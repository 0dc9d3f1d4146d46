"""Reporting: ``plots`` (theme and generic charts), ``figures`` (analysis figures), ``maps``, ``tables``,
``export`` (one way to save figures, tables and tidy results), ``renderer`` (one Chromium for every kernel of a run),
``site`` (reports/index.html)."""
