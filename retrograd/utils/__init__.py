"""Utilities: hooks, checkpointing, data loading."""
