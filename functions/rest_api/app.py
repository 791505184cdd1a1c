"""REST: the FastAPI app behind the HTTP API, through Mangum (HTTP API v2 events)."""

from mangum import Mangum

from mayachat.edge.telemetry import publishes_metrics
from mayachat.rest.app import create_app

app = create_app()

handler = publishes_metrics(Mangum(app, lifespan="off"))
