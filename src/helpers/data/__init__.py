"""Data layer: registry -> data/raw -> loaders -> data/processed/panel.

``registry`` (fetch and verify raw files), ``countries`` (ISO3 harmonisation), ``treaties`` (the 18 instruments),
``untc`` (UN Treaty Collection parser), ``reservations`` (CEDAW reservation coding), ``sources`` (one loader module
per source), ``variables`` (the variable registry and labels), ``panel`` (build and load), ``schemas`` (validation).
"""
