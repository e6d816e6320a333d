"""Fixtures for tests and benchmarks, kept apart from the product: nothing in ac_core imports them.

- :mod:`~ac_core.testing.page_publisher` — AC pages published from Python under a prefix, to play a game
"""
