"""Foundations every layer uses: project paths (``paths``), error types (``errors``), parameter validators (``params``)."""
