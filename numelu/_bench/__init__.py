"""The side-by-side benchmark: contenders, a timer, a report (method: docs/design.md).

Used three ways, always with the same contenders on the same arrays:

* ``python -m numelu bench`` (:func:`numelu._bench.cli.main`): timeit-style best-of-N timing, no
  pytest needed;
* ``pytest benchmarks --benchmark-only`` (``benchmarks/``): the pytest-benchmark suite;
* ``python benchmarks/report.py results.json`` (:func:`numelu._bench.cli.report_main`): a
  pytest-benchmark JSON (or the JSON written by ``python -m numelu bench --json``) rendered as a
  markdown table of ratios and a PNG plot.

Every claim is a ratio between contenders measured side by side in one run:

* ``x NumPy`` -- how many times faster than plain NumPy (``t(numpy) / t``; higher is better);
* ``/ peer``  -- time over the fastest installed peer, PyTorch, numexpr or JAX (below 1: faster);
* ``/ wall``  -- time over the memory wall, a copy of the same bytes (1.0 is the bandwidth bound).

The optional peers (PyTorch, numexpr, JAX, matplotlib for the plot) are imported only when a
benchmark asks for them; numelu never depends on them.

One module per job; import from the module itself (this package re-exports nothing).  The
formulas (NumPy, numexpr and JAX evaluate the same text) are ``numelu._reference``'s.

* ``cases``       -- the benchmarks' alpha, the grid of cases (function, data, dtype, size) and their seeded inputs;
* ``peers``       -- importing the optional peers (PyTorch, numexpr, JAX) and their versions;
* ``contenders``  -- the table of contenders (``CONTENDERS``) and how each is bound to a case;
* ``correctness`` -- whether a contender's result is the function's value (``mismatch``);
* ``timing``      -- timeit-style rounds, their statistics, warm-up and peer settle time;
* ``runner``      -- the ``numelu bench`` run over the grid and its JSON document;
* ``results``     -- the JSON read back as results, grouped, and each group's ratios;
* ``report``      -- number formatting and the markdown report;
* ``plot``        -- the PNG plot (matplotlib);
* ``cli``         -- the command lines ``python -m numelu bench`` and ``benchmarks/report.py``.
"""
