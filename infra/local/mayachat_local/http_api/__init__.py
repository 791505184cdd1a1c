"""The local HTTP API: what API Gateway's HTTP API does for the REST function."""
