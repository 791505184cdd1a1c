"""Property-based calls generated from the app's own OpenAPI: no input yields a 5xx."""

from __future__ import annotations

import uuid

import schemathesis
from hypothesis import HealthCheck, settings

from mayachat.rest.app import create_app
from mayachat_local.devtools.devauth import mint

USER = f"fuzz-{uuid.uuid4().hex[:6]}"

# The app reads its settings and builds clients only when a request arrives, after the
# rest_environment fixture has pointed them at the local stack.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_input_makes_a_server_error(case: schemathesis.Case, rest_environment: None) -> None:
    response = case.call(headers={"Authorization": f"Bearer {mint(USER)}"})
    assert response.status_code < 500, (case.as_curl_command(), response.text)
