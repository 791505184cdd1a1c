"""The REST API (FastAPI), served by the REST function through Mangum."""
