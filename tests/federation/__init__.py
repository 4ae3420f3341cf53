"""Federation over real processes: several ``kakehashi serve`` hubs (and medallion) on loopback.

A package, like ``tests/serial``, so that ``tests/federation/conftest.py`` is imported as
``federation.conftest`` and does not replace the top-level ``conftest`` module.
"""
