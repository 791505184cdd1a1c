"""The Lambda runtime the emulators share: the template read as functions, each function's
workers (a process per container, its environment), and how invocations are logged."""
