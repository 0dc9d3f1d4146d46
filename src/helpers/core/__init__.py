"""Foundations every layer uses: project paths (``paths``), error types (``errors``), parameter validators and
the one rule per notebook parameter name (``params``), the parallel engine (``engine``) and import-time
costs the package avoids (``imports``)."""
