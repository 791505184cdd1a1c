"""A fault-injection ("Jepsen-style") harness for the whole local system: `make chaos`.

It starts a stack of its own (its own state dir and ports, real server processes it may kill),
runs the template's WebSocket API, persist mappings and REST API in-process, drives phones
that send with retries and readers that catch up only from their cursors, injects faults one
after another, and checks afterwards what every ack promised.

| module | concern |
|---|---|
| `config.py` | ports, folders, the run's parameters (`--bounded` presets) |
| `proxy.py` | the TCP proxy the functions reach Redis through (ElastiCache's moving endpoint) |
| `cluster.py` | the stack: start, kill, pause, restart, the Redis replica, teardown |
| `workload.py` | phones: sends with a fresh clientMsgId, resends of the same one, every ack |
| `readers.py` | catch-up readers: WebSocket `sync` and REST `after=` from their own cursors |
| `nemesis.py` | the faults, by name (add one with `@fault`) |
| `dead_letters.py` | what landed on the dead-letter topic, and why |
| `checker.py` | the guarantees, per fault window and in total |
| `report.py` | the markdown table |
| `artifacts.py` | what a run leaves in `.local/chaos`: logs, `run.json` |
| `runner.py` | one run: stack, workload, faults, settle, check, teardown |
"""
