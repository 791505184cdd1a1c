"""The local runtime: real backing servers as local processes, and (later) the emulators of
API Gateway WebSocket and the MSK event-source mapping. Development and test tooling only;
nothing here is deployed."""
