"""Running the collection: ``runner`` (papermill), ``bench`` (benchmarks), ``cli`` (``python -m helpers``)."""
