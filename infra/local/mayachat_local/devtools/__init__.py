"""Tools for working on the system: `make dev` (dev.py, with hot reload), dev tokens, rooms,
the terminal client, and a thread to run an emulator in."""
