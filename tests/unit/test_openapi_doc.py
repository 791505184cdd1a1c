"""docs/openapi.json is the REST API's current contract (regenerate: make openapi)."""

from __future__ import annotations

import json
from pathlib import Path

from mayachat.rest.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_openapi_matches_the_app() -> None:
    assert json.loads(DOC.read_text()) == json.loads(json.dumps(create_app().openapi())), (
        "docs/openapi.json is stale: run `make openapi`"
    )
