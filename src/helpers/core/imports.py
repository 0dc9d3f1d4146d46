"""Import-time costs the package avoids, in one place.

:func:`skip_iri_format_checker`: jsonschema imports the optional package ``rfc3987_syntax`` (pulled in by Jupyter's
``jsonschema[format-nongpl]``) for its "iri" format checker, and that package compiles about 40 Lark grammars when
imported: 2.5 s of CPU. nbformat imports jsonschema, papermill imports nbformat, and plotly imports nbformat the
first time a figure is displayed in a kernel, so without this every notebook run paid it twice (runner and
kernel). Nothing here validates an IRI: nbformat's notebook schema has no such field, and jsonschema checks
formats only when asked to (then "iri" and "iri-reference" go unchecked, as without the optional package).
"""

from __future__ import annotations

import sys

#: the optional module skipped (jsonschema's IRI format checker)
IRI_CHECKER_MODULE = "rfc3987_syntax"


def skip_iri_format_checker() -> bool:
    """Make ``import rfc3987_syntax`` fail fast (``None`` in ``sys.modules``) before jsonschema is first imported,
    so jsonschema leaves out its IRI format checker. Returns whether the skip is in place (False when jsonschema
    was already imported with the checker, or the module is already loaded)."""
    if "jsonschema" in sys.modules and sys.modules.get(IRI_CHECKER_MODULE) is not None:
        return False
    sys.modules.setdefault(IRI_CHECKER_MODULE, None)
    return sys.modules[IRI_CHECKER_MODULE] is None
