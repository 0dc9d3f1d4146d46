"""Foundations every layer uses: project paths (``paths``), error types (``errors``), parameter validators and
the one rule per notebook parameter name (``params``), the parallel engine (``engine``), import-time
costs the package avoids (``imports``) and environment variables for child processes (``environ``)."""
