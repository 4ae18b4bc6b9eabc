"""The one exception hierarchy users see, and its mapping to HTTP status and the OpenAI error body."""

from __future__ import annotations

from typing import Any


class PolystackError(Exception):
    """Base error: carries the HTTP status and the OpenAI error `type`/`code`/`param`."""

    status_code = 500
    error_type = "server_error"
    code: str | None = None
    # Response headers the caller should get with the error, e.g. an upstream's Retry-After and rate limits.
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        """The OpenAI error body: {"error": {"message", "type", "param", "code"}}."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequestError(PolystackError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedParameterError(InvalidRequestError):
    """A parameter that is valid OpenAI but that this provider cannot honour."""

    code = "unsupported_parameter"


class AuthenticationError(PolystackError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class AccessDeniedError(PolystackError):
    status_code = 403
    error_type = "permission_error"
    code = "access_denied"


class NotFoundError(PolystackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    code = "model_not_found"

    def __init__(self, model: str, *, candidates: list[str] | None = None) -> None:
        hint = (
            f"Several models have that name; pass one of: {', '.join(candidates)}."
            if candidates
            else "List the available models with GET /v1/models."
        )
        super().__init__(f"The model '{model}' does not exist or you do not have access to it. {hint}", param="model")
        self.candidates = candidates or []


class ConflictError(PolystackError):
    status_code = 409
    error_type = "invalid_request_error"
    code = "conflict"


class PayloadTooLargeError(PolystackError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "payload_too_large"


class QuotaExceededError(PolystackError):
    status_code = 429
    error_type = "rate_limit_exceeded"
    code = "quota_exceeded"


class NotImplementedByProviderError(PolystackError):
    status_code = 501
    error_type = "invalid_request_error"
    code = "not_implemented"


class ProviderError(PolystackError):
    """A provider failed or answered with an error; the message names the provider."""

    status_code = 502
    error_type = "api_error"
    code = "provider_error"

    def __init__(self, provider_id: str, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(f"Provider '{provider_id}' failed: {detail}")
        self.provider_id = provider_id
        if status_code is not None:
            self.status_code = status_code


class ProviderTimeoutError(ProviderError):
    status_code = 504
    code = "provider_timeout"


class ServiceUnavailableError(PolystackError):
    status_code = 503
    error_type = "api_error"
    code = "service_unavailable"


def error_body_for_status(status_code: int, message: str, param: str | None = None) -> dict[str, Any]:
    """An OpenAI error body for errors raised outside the hierarchy (e.g. Starlette's 404/405)."""
    error_type = "invalid_request_error" if status_code < 500 else "server_error"
    return {"error": {"message": message, "type": error_type, "param": param, "code": None}}
