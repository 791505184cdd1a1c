"""Adapters: one module per external system, each implementing ports from mayachat.ports."""
