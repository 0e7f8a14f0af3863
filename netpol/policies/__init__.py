"""Policy families, each compiled into the one intermediate form the engine walks (stages.py)."""
