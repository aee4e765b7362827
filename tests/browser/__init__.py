"""A package, so that its conftest.py imports as ``browser.conftest`` next to tests/conftest.py (--doctest-modules)."""
