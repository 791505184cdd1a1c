"""Edges: where AWS event shapes are turned into commands and results into responses."""
