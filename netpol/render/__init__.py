"""Renderers: pure functions from query results to text (or rich renderables).

They never print; the CLI decides where the text goes.
"""
