"""On-demand benchmarks: ``make bench`` or ``python -m benchmarks [NAME ...]``.

Each ``bench_<name>.py`` module has ``run() -> list[Row]``.  A run prints one table,
stores each module's rows in ``benchmarks/results/<name>.json`` (with the machine and
the date) and rebuilds ``benchmarks/RESULTS.md`` from every stored result, so the
recorded numbers always say where and when they were measured.
"""
