"""The `quotawatch` command line: ``main`` is the composition root, one module per command
group (``db``, ``registry``, ``engine``, ``demo``; ``ingest.cli`` and ``dashboard.cli`` add
theirs), and ``run`` is the launcher behind ``make run``."""
