"""Treaty-effects helpers: the library behind the notebook collection.

Sub-packages follow the data flow, and each imports only from those before it:

- ``helpers.core``     paths, errors, shared parameter validators;
- ``helpers.data``     raw-file registry and fetch, countries, treaties and the UNTC parser, reservations, one loader
                       module per source (``data.sources``), the variable registry, the panel and its schemas;
- ``helpers.estimate`` the fixed-effects kernel, Cole-style models, specification curve, ratification timing,
                       staggered-adoption DiD (``estimate.did``), synthetic control, inference;
- ``helpers.report``   theme and plots, analysis figures, maps, tables, export, the results site;
- ``helpers.pipeline`` the notebook start, the notebook runner, benchmarks and the command line.

Every notebook starts with ``run = helpers.start("<notebook>", globals())`` (:func:`helpers.pipeline.notebook.start`:
validate the parameters, create the run folder, apply the theme); it is imported on first use, so ``import helpers``
stays light.
"""


def __getattr__(name: str):
    if name == "start":
        from helpers.pipeline.notebook import start

        return start
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
