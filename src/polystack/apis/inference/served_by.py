"""Which model answered an inference call, set by the router and told in the response's headers."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.responses import Response

MODEL_HEADER = "x-polystack-model"  # the deployment that answered: `provider_id/provider_model_id`
FALLBACK_HEADER = "x-polystack-fallback"  # the fallback model that answered, when the asked one could not

# (deployment, fallback or None): set only by a call routed through deployments or fallbacks
served_by: ContextVar[tuple[str, str | None] | None] = ContextVar("served_by", default=None)


def with_served_by(response: Response) -> Response:
    """`response` with the served-by headers when the call was routed through deployments or fallbacks."""
    served = served_by.get()
    if served is not None:
        response.headers[MODEL_HEADER] = served[0]
        if served[1] is not None:
            response.headers[FALLBACK_HEADER] = served[1]
    return response
