"""Utilities: hooks, checkpointing, data loading."""
from . import data
