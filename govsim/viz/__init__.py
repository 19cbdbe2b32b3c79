"""The classroom demo: a Solara app on Mesa's SolaraViz where a class steers and compares cities.

Modules: :mod:`~govsim.viz.levers` (flat controls mapped to scenario paths, presets),
:mod:`~govsim.viz.pair` (two cities stepping together), :mod:`~govsim.viz.charts` (ECharts
options), :mod:`~govsim.viz.i18n` (English and Chinese texts), :mod:`~govsim.viz.app` (the page),
:mod:`~govsim.viz.server` (serving it offline) and :mod:`~govsim.viz.cli` (``govsim demo``).
Everything here needs the ``viz`` extra; the rest of govsim never imports it.
"""
