"""Which model answered an inference call, set by the router and told in the response's headers."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.responses import Response

MODEL_HEADER = "x-polystack-model"  # the deployment that answered: `provider_id/provider_model_id`
FALLBACK_HEADER = "x-polystack-fallback"  # the fallback model that answered, when the asked one could not

# (the request as the caller sent it, deployment, fallback or None): set only by a call routed through
# deployments or fallbacks. The request tells the caller's own call from calls made while serving it (a
# guard asking a model of its own), which set this too.
served_by: ContextVar[tuple[object, str, str | None] | None] = ContextVar("served_by", default=None)


def with_served_by(response: Response, request: object) -> Response:
    """`response` with the served-by headers when the call of `request` went through deployments or fallbacks."""
    served = served_by.get()
    if served is not None and served[0] is request:
        response.headers[MODEL_HEADER] = served[1]
        if served[2] is not None:
            response.headers[FALLBACK_HEADER] = served[2]
    return response
