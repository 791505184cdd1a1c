"""MayaChat core: the domain, its ports and the adapters every Lambda function shares.

Import submodules directly (``from mayachat.settings import Settings``); this package root
imports nothing, so a function pays at cold start only for what it uses.
"""
