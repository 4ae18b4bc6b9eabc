"""core.secrets: secrets found by value, and masked in errors, logs and configs shown to anyone."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from polystack.core import secrets
from polystack.core.config import redact
from polystack.core.request_context import reset_provider_data, set_provider_data


def test_secrets_are_found_by_value_whatever_their_key_is_called() -> None:
    found = set(secrets.collect({
        "url": "postgresql://app:pg-pass-123@db.internal:5432/x",
        "extra_headers": {"X-Api": "Bearer hdr-token-456"},
        "s3": {"secret_access_key": "aws-secret-789", "bucket": "docs"},
        "api_key": SecretStr("sk-abc-000"),
        "max_tokens": 5,
    }))
    assert {"pg-pass-123", "Bearer hdr-token-456", "hdr-token-456", "aws-secret-789", "sk-abc-000"} <= found
    assert "docs" not in found


def test_a_url_kept_as_a_secret_hides_only_its_password() -> None:
    found = set(secrets.collect({"url": SecretStr("redis://:cache-pw-31@cache:6379/0"),
                                 "plain": SecretStr("redis://cache:6379/0")}))
    assert found == {"cache-pw-31"}


def test_scrub_masks_registered_secrets_and_any_password_in_a_url() -> None:
    secrets.register({"api_key": "sk-registered-4242"})
    text = secrets.scrub("bad key sk-registered-4242 for redis://:hunter22@cache:6379/0")
    assert text == "bad key ******** for redis://:********@cache:6379/0"


def test_scrub_masks_the_callers_own_key_from_its_provider_data() -> None:
    token = set_provider_data({"openai_api_key": "sk-caller-only-9090", "region": "eu"})
    try:
        assert secrets.scrub("echo: sk-caller-only-9090 in eu") == "echo: ******** in eu"
    finally:
        reset_provider_data(token)
    assert secrets.scrub("sk-caller-only-9090") == "sk-caller-only-9090"  # another request's key is not known


def test_public_message_hides_file_paths_and_database_addresses_but_not_routes() -> None:
    secrets.register_database_addresses(["db.internal:5432/polystack"])
    message = secrets.public_message(
        "cannot open /var/lib/polystack/stores/registry.db; db.internal:5432/polystack refused; "
        "see GET /v1/providers, /health or http://127.0.0.1:8321/v1/models; config ~/.polystack/run.yaml")
    assert "/var/lib" not in message and "db.internal" not in message and ".polystack" not in message
    assert "registry.db" in message and "GET /v1/providers" in message and "http://127.0.0.1:8321/v1/models" in message
    assert " /health " in message and "and/or" in secrets.public_message("and/or")


def test_log_records_and_their_tracebacks_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    secrets.register({"password": "log-secret-3131"})
    logger = logging.getLogger("polystack.test_secrets")
    with caplog.at_level(logging.INFO, logger="polystack"):
        logger.info("connecting with %s", "log-secret-3131")
        try:
            raise RuntimeError("refused for log-secret-3131")
        except RuntimeError:
            logger.exception("failed")
    assert "log-secret-3131" not in caplog.text
    assert all("log-secret-3131" not in record.getMessage() for record in caplog.records)
    assert caplog.text.count("********") >= 2 and "RuntimeError" in caplog.text


def test_redact_masks_url_passwords_header_values_and_s3_secret_access_key() -> None:
    shown = redact({
        "url": "http://user:url-pass-555@proxy:3128/v1",
        "extra_headers": {"X-Custom-Auth": "hdr-value-666"},
        "s3": {"secret_access_key": "aws-777-secret", "access_key_id": "AKIAEXAMPLE"},
        "note": "copied hdr-value-666 here",
        "max_tokens": 5,
    })
    assert shown == {
        "url": "http://user:********@proxy:3128/v1",
        "extra_headers": {"X-Custom-Auth": "********"},
        "s3": {"secret_access_key": "********", "access_key_id": "AKIAEXAMPLE"},
        "note": "copied ******** here",
        "max_tokens": 5,
    }
