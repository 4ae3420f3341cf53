"""Real-process, real-socket tests: ``kakehashi serve`` driven over TCP.

A package (unlike the rest of ``tests/``) so that ``tests/serial/conftest.py`` is imported
as ``serial.conftest`` and does not replace the top-level ``conftest`` module that test
modules import ``TOKENS`` and ``CONFIG_TEXT`` from.
"""
