"""Reporting: ``plots`` (theme and generic charts), ``figures`` (analysis figures), ``maps``, ``tables``,
``export`` (one way to save figures, tables and tidy results), ``site`` (reports/index.html)."""
