"""The local runtime: real backing servers as local processes (services/), and emulators of
what SAM CLI lacks: API Gateway WebSocket (gateway/), the HTTP API (http_api/), the MSK
event-source mapping (esm/) and the Lambda runtime they invoke. Development and test tooling
only; nothing here is deployed."""
