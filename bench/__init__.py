"""The benchmarks (``make bench-*``), each run as a script (``python bench/<name>.py``).

A package, so that the modules they share (``bench.service_runner``, ``bench.e2e_contenders``)
are imported under one name by every script and by the type checker alike.
"""
