"""Treaty-effects helpers: the library behind the notebook collection.

Sub-packages follow the data flow, and each imports only from those before it:

- ``helpers.core``     paths, errors, shared parameter validators;
- ``helpers.data``     raw-file registry and fetch, countries, treaties and the UNTC parser, reservations, one loader
                       module per source (``data.sources``), the variable registry, the panel and its schemas;
- ``helpers.estimate`` the fixed-effects kernel, Cole-style models, specification curve, ratification timing,
                       staggered-adoption DiD (``estimate.did``), synthetic control, inference;
- ``helpers.report``   theme and plots, analysis figures, maps, tables, export, the results site;
- ``helpers.pipeline`` the notebook runner, benchmarks and the command line.
"""
