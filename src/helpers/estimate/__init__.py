"""Estimators: ``fe`` (the fixed-effects kernel), ``models`` (Cole-style regressions), ``specs`` (specification
curve engine), ``timing`` (ratification hazards), ``did`` (staggered adoption), ``synth`` (country cases),
``inference`` (wild bootstrap, randomization inference). They return numbers; figures live in helpers.report."""
