"""The compare view (:class:`CompareWidget`): loss and LR curves of several saved runs, their settings
and summaries.

Modules by job: ``widget`` (the view and its life cycle), ``loading`` (store reads and the series
cache), ``curves`` (a run's plot items and their decimation levels), ``plots`` (the two plots and
their legend in an export), ``readout`` (the hover readout), ``run_list`` (the run list beside the
plots), ``tables`` (settings diff and summary), ``controls`` (the row of controls). The maths
(decimation levels, outlier ranges) is Qt-free, in :mod:`lrstudio.core.series` and
:mod:`lrstudio.core.compare`. ``page`` (the Compare tab, which builds the view on first use) is
imported by the main window at start-up, so this package imports nothing itself: importing the
view means importing pyqtgraph's plot machinery (~180 ms, ``bench/bench_gui.py``); import it as
``lrstudio.gui.compare.widget.CompareWidget``.
"""
