"""inline::pii on a fixed labelled table (per-kind precision and recall, printed and asserted), flag and
redact modes, and bad input. Offline: regexes, checksums, and phonenumbers' bundled metadata.

Every value below is a published test value or made up (cards: the networks' test numbers; IBANs: the
examples of national banking associations; the AWS key is AWS's documentation example; tokens are random).
Negatives are the look-alikes a model's answer is full of: order numbers, dates, versions, hashes, UUIDs,
numbers that fail their checksum. Three rows are known misses (an obfuscated address, a national phone
number of another region than the configured one, a dotted card number). Measured on 46 rows: precision 1.0,
recall 0.906 (29 of 32 kinds), 43 rows right; each floor allows one more error than that, so a rule that
gets looser (precision) or stricter (recall) is caught.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import import_module
from typing import Any

import pytest

from polystack.apis.errors import InvalidRequestError
from polystack.apis.safety.protocol import SafetyProvider
from polystack.apis.safety.types import OPENAI_CATEGORIES, Shield, ViolationLevel
from polystack.core.provider_protocols import protocol_problems
from polystack.providers.inline.safety.pii import create, detectors
from polystack.providers.inline.safety.pii.config import PiiConfig
from polystack.providers.inline.safety.pii.provider import PiiShield
from polystack.providers.registry.safety_offline import OFFLINE_SAFETY_PROVIDERS

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
       ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAuQx3bT1nq0Fz\nq83Bv2wQ==\n-----END RSA PRIVATE KEY-----"

ROWS: list[tuple[str, set[str]]] = [
    # --- e-mail
    ("Write to jane.doe@example.com for details", {"email"}),
    ("cc: ops+alerts@mail.example.co.uk", {"email"}),
    ("My address is J.Smith_99@sub.domain.org.", {"email"}),
    # --- phone numbers
    ("Call me on (650) 253-0000 tomorrow", {"phone"}),
    ("Office: +44 20 7946 0958", {"phone"}),
    ("Berlin office +49 30 901820", {"phone"}),
    ("Paris: +33 1 42 68 53 00", {"phone"}),
    ("text 415-555-2671 when you land", {"phone"}),
    # --- card numbers (Luhn)
    ("Card: 4111 1111 1111 1111, exp 12/29", {"credit_card"}),
    ("pay with 5555-5555-5555-4444", {"credit_card"}),
    ("Amex 378282246310005 on file", {"credit_card"}),
    # --- IBANs (mod-97)
    ("IBAN GB82 WEST 1234 5698 7654 32", {"iban"}),
    ("Please wire to DE89370400440532013000 today", {"iban"}),
    ("FR14 2004 1010 0505 0001 3M02 606 is the account", {"iban"}),
    ("NL91ABNA0417164300", {"iban"}),
    # --- keys and tokens
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", {"aws_access_key"}),
    ("token ghp_k2Vb8Yq1N0xZr4Tg7Ls9Pd3Wm6Hc5Jf2Aa1Qe", {"github_token"}),
    ("OPENAI_API_KEY=sk-proj-Jx8kLm2Nq4Rt6Vw8Yz0Ab2Cd4Ef6Gh8Ij0Kl", {"openai_key"}),
    ("key: sk-ant-api03-Zq8Wx7Vc6Bn5Mm4Ll3Kk2Jj1Hh0Gg9Ff8Ee7Dd6", {"anthropic_key"}),
    (f"Authorization: Bearer {JWT}", {"jwt"}),
    (f"here is my key\n{PEM}\nthanks", {"private_key"}),
    ("SLACK_TOKEN=xoxb-2048-4096-AbCdEfGhIjKlMnOp", {"slack_token"}),
    ("maps key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", {"google_api_key"}),
    # --- several kinds at once
    ("Contact bob@example.org or +1 650 253 0000, card 4111111111111111", {"email", "phone", "credit_card"}),
    ("IBAN DE89 3704 0044 0532 0130 00 and key AKIAIOSFODNN7EXAMPLE", {"iban", "aws_access_key"}),
    # --- known misses: obfuscated or written in a form the rules do not read
    ("mail jane at example dot com", {"email"}),
    ("Berlin: 030 901820 (no country code; the default region is US)", {"phone"}),
    ("card 4111.1111.1111.1111", {"credit_card"}),
    ("call 6502530000", {"phone"}),  # read: phonenumbers takes undivided digits
    # --- look-alikes that are no PII or secret
    ("Your order 4111 1111 1111 1112 has shipped", set()),  # fails Luhn
    ("Order number 1234567890123456", set()),  # fails Luhn
    ("0000 0000 0000 0000 is a placeholder", set()),
    ("IBAN GB82 WEST 1234 5698 7654 33", set()),  # fails mod-97
    ("Released on 2024-05-17 as version 3.12.4", set()),
    ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8", set()),
    ("request id 123e4567-e89b-12d3-a456-426614174000", set()),
    ("The population is 8,100,000,000 people", set()),
    ("Use the sk-learn alias for scikit-learn", set()),
    ("the file is at /home/user/docs@2x.png", set()),
    ("ISBN 978-3-16-148410-0", set()),
    ("pi is 3.14159265358979", set()),
    ("Set your key in OPENAI_API_KEY=<your key here>", set()),
    ("Email me at the usual address", set()),
    ("The AKIA prefix marks AWS access keys", set()),
    ("eyJhbGciOiJIUzI1NiJ9 is only a JWT header", set()),
    ("Room 101, extension 4412", set()),
]
PRECISION_FLOOR, RECALL_FLOOR, ROWS_RIGHT_FLOOR = 0.96, 0.87, 0.91
SHIELD = Shield(identifier="pii", provider_id="pii", provider_resource_id="pii")


@pytest.fixture(scope="module")
async def shield() -> AsyncIterator[PiiShield]:
    impl = await create(PiiConfig(), None)  # type: ignore[arg-type]
    yield impl
    await impl.shutdown()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def test_labelled_table(shield: PiiShield) -> None:
    assert len(ROWS) >= 30
    tp = fp = fn = 0
    wrong = []
    results = await shield.run_moderation(SHIELD, [text for text, _ in ROWS])
    for (text, expected), result in zip(ROWS, results, strict=True):
        found = set(result.metadata.get("counts", {}))
        tp, fp, fn = tp + len(found & expected), fp + len(found - expected), fn + len(expected - found)
        assert result.flagged == bool(found)
        if found != expected:
            wrong.append((text, sorted(expected), sorted(found)))
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    rows_right = 1 - len(wrong) / len(ROWS)
    print(f"\npii on {len(ROWS)} rows: rows right {rows_right:.3f}, kind precision {precision:.3f} recall {recall:.3f}")
    for row in wrong:
        print("  wrong:", row)
    assert precision >= PRECISION_FLOOR and recall >= RECALL_FLOOR and rows_right >= ROWS_RIGHT_FLOOR


async def test_flag_names_the_kinds_and_never_the_values(shield: PiiShield) -> None:
    text = "Reach me at jane.doe@example.com, card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE"
    response = await shield.run_shield(SHIELD, user(text), {})
    assert response.violation is not None
    assert response.violation.violation_level == ViolationLevel.error
    assert response.violation.metadata["categories"] == ["pii/credit-card", "pii/email", "secret/aws-access-key"]
    assert response.violation.metadata["counts"] == {"email": 1, "credit_card": 1, "aws_access_key": 1}
    dumped = response.model_dump_json()
    for value in ("jane.doe", "4111", "AKIAIOSFODNN7EXAMPLE"):
        assert value not in dumped
    assert "redacted_text" not in response.violation.metadata
    assert (await shield.run_shield(SHIELD, user("nothing personal here"), {})).violation is None


async def test_redact_mode_returns_the_redacted_text(shield: PiiShield) -> None:
    text = "Mail jane.doe@example.com or call (650) 253-0000; IBAN DE89 3704 0044 0532 0130 00."
    response = await shield.run_shield(SHIELD, user(text), {"mode": "redact"})
    assert response.violation is not None
    assert response.violation.metadata["mode"] == "redact"
    assert response.violation.metadata["redacted_text"] == "Mail [EMAIL] or call [PHONE]; IBAN [IBAN]."
    configured = PiiShield(PiiConfig(mode="redact"))
    [result] = await configured.run_moderation(SHIELD, [f"key {JWT} end"])
    assert result.metadata["redacted_text"] == "key [JWT] end"


async def test_kinds_narrow_what_is_looked_for(shield: PiiShield) -> None:
    text = "jane.doe@example.com 4111 1111 1111 1111"
    response = await shield.run_shield(SHIELD, user(text), {"kinds": ["credit_card"]})
    assert response.violation is not None and response.violation.metadata["counts"] == {"credit_card": 1}
    only_email = PiiShield(PiiConfig(kinds=["email"]))
    assert (await only_email.run_shield(SHIELD, user("card 4111 1111 1111 1111"), {})).violation is None


async def test_run_shield_judges_the_last_message_of_the_role(shield: PiiShield) -> None:
    conversation = [{"role": "user", "content": "my mail is jane.doe@example.com"},
                    {"role": "assistant", "content": "Thanks, noted."}]
    assert (await shield.run_shield(SHIELD, conversation, {})).violation is None
    response = await shield.run_shield(SHIELD, conversation, {"judged_role": "user"})
    assert response.violation is not None and response.violation.metadata["message_index"] == 0


async def test_moderation_keeps_openai_categories_false(shield: PiiShield) -> None:
    [found, clean] = await shield.run_moderation(SHIELD, ["jane.doe@example.com", "hello"])
    assert found.flagged and clean.flagged is False
    assert list(found.categories) == list(OPENAI_CATEGORIES) and not any(found.categories.values())
    assert found.metadata["categories"] == ["pii/email"] and clean.metadata == {}


async def test_bad_input_is_a_400(shield: PiiShield) -> None:
    with pytest.raises(InvalidRequestError) as empty:
        await shield.run_shield(SHIELD, [], {})
    assert empty.value.param == "messages"
    for bad in ({"mode": "erase"}, {"kinds": ["dna"]}, {"kinds": "email"}):
        with pytest.raises(InvalidRequestError) as error:
            await shield.run_shield(SHIELD, user("x"), bad)
        assert error.value.param == "params"
    with pytest.raises(ValueError, match="unknown kinds"):
        PiiConfig(kinds=["dna"])


def test_luhn() -> None:
    assert detectors.luhn_valid("4111111111111111") and detectors.luhn_valid("378282246310005")
    assert not detectors.luhn_valid("4111111111111112")


def test_overlaps_go_to_the_more_specific_kind() -> None:
    # The digits of an IBAN or a key are no phone number or card.
    findings = detectors.find("DE89370400440532013000")
    assert [f.kind for f in findings] == ["iban"]


async def test_the_spec_builds_a_safety_provider() -> None:
    """What the resolver does at startup: the spec's config class, its module's create, the protocol check."""
    [spec] = [spec for spec in OFFLINE_SAFETY_PROVIDERS if spec.provider_type == "inline::pii"]
    assert spec.api == "safety" and spec.extra == "safety"
    config = spec.load_config_class().model_validate(spec.load_config_class().sample_config())
    impl = await import_module(spec.module).create(config, None)
    assert isinstance(impl, PiiShield) and protocol_problems(impl, SafetyProvider) == []


HOSTILE = {"dotted words": "a." * 20000 + "@", "digits": "1 " * 20000, "iban groups": "GB82 " + "WEST " * 8000,
           "pem openers": "-----BEGIN PRIVATE KEY-----" * 2000, "sk dashes": "sk-" + "a-" * 20000,
           "at signs": "x@" * 20000}


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_input_costs_linear_time(shield: PiiShield, name: str) -> None:
    """Every repetition in the patterns is bounded; 40 KB of digits (phonenumbers' matcher) is the slowest,
    about 0.2 s. 1.5 s leaves room for a busy machine."""
    import time

    started = time.perf_counter()
    await shield.run_shield(SHIELD, user(HOSTILE[name]), {"mode": "redact"})
    assert time.perf_counter() - started < 1.5
