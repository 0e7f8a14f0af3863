"""Answers built on the engine: queries, matrices, checks, diffs, exposure, lists, lint, reports."""
