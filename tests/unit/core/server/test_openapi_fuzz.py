"""Property-based fuzzing over /openapi.json (schemathesis): no input makes a 5xx, every status is documented."""

import tempfile

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

STORE_DIR = tempfile.mkdtemp(prefix="polystack-fuzz-")
STORAGE = {
    "backends": {"sql": {"type": "sql_sqlite", "db_path": f"{STORE_DIR}/sql.db"}},
    "stores": {"inference": {"backend": "sql", "durability": "commit"}},
}
app = create_app(Stack(scripted_config(storage=STORAGE)), manage_lifecycle=True)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=50, deadline=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_5xx_or_an_undocumented_status(case):
    case.call_and_validate(checks=CHECKS)
