"""Property-based fuzzing over /openapi.json (schemathesis): no input makes a 5xx, every status is documented."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from polystack.core.server.app import create_app
from polystack.core.stack import Stack

from .conftest import scripted_config

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    """The scripted stack with stored chat completions, served in-process; started by the ASGI lifespan."""
    folder = tmp_path_factory.mktemp("fuzz")
    storage = {
        "backends": {"sql": {"type": "sql_sqlite", "db_path": str(folder / "sql.db")}},
        "stores": {"inference": {"backend": "sql", "durability": "commit"}},
    }
    app = create_app(Stack(scripted_config(storage=storage)), manage_lifecycle=True)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=50, deadline=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_5xx_or_an_undocumented_status(case):
    case.call_and_validate(checks=CHECKS)
