"""The gateway's parts on their own: fault classes, Retry-After, backoff, circuits and balancers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from polystack.apis.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    QuotaExceededError,
    ServiceUnavailableError,
)
from polystack.core.routing.deployments import Balancer, Circuit, CooldownPolicy, parse_routing
from polystack.core.routing.retries import Fault, backoff, classify, retry_after
from polystack.providers.utils.openai_compat.errors import status_error, transport_error


@pytest.mark.parametrize(("error", "fault"), [
    (ProviderTimeoutError("p", "timed out talking to http://x"), Fault.timeout),
    (status_error("p", 429, b'{"error": {"message": "slow down"}}'), Fault.rate_limit),
    (status_error("p", 500, b"boom"), Fault.server),
    (status_error("p", 503, b"overloaded"), Fault.server),
    (ServiceUnavailableError("busy"), Fault.server),
    (ProviderError("p", "cannot reach http://x: the connection failed"), Fault.connection),
    (status_error("p", 401, b"bad key"), Fault.server),  # our key, not the caller's request
    (status_error("p", 400, b'{"error": {"message": "This model\'s maximum context length is 8192 tokens"}}'),
     Fault.context_window),
    (status_error("p", 400, b'{"error": {"message": "prompt is too long: 300000 tokens > 200000 maximum"}}'),
     Fault.context_window),
    (status_error("p", 400, b'{"error": {"message": "rejected by our content management policy"}}'),
     Fault.content_policy),
    (status_error("p", 400, b'{"error": {"message": "temperature must be <= 2"}}'), Fault.caller),
    (status_error("p", 404, b'{"error": {"message": "no such model"}}'), Fault.caller),
    (ModelNotFoundError("m"), Fault.caller),
    (InvalidRequestError("bad"), Fault.caller),
])
def test_each_error_has_its_fault_class(error, fault):
    assert classify(error) is fault
    assert fault.retried == (fault in {Fault.timeout, Fault.connection, Fault.rate_limit, Fault.server})


def test_transport_errors_are_connection_or_timeout_faults():
    import httpx

    assert classify(transport_error("p", "http://x", httpx.ConnectError("refused"))) is Fault.connection
    assert classify(transport_error("p", "http://x", httpx.ReadError("reset"))) is Fault.connection
    assert classify(transport_error("p", "http://x", httpx.ReadTimeout("slow"))) is Fault.timeout


def test_retry_after_in_seconds_milliseconds_or_as_a_date():
    error = QuotaExceededError("slow down")
    assert retry_after(error) is None
    error.headers = {"retry-after": "3"}
    assert retry_after(error) == 3
    error.headers = {"retry-after-ms": "250", "retry-after": "3"}
    assert retry_after(error) == 0.25
    error.headers = {"retry-after": format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)}
    assert 8 < retry_after(error) <= 10  # type: ignore[operator]
    error.headers = {"retry-after": "soon"}
    assert retry_after(error) is None


def test_backoff_is_jittered_exponential_and_capped():
    for round_ in (1, 2, 3, 8):
        delays = [backoff(round_, 0.5, 4) for _ in range(200)]
        bound = min(4, 0.5 * 2 ** (round_ - 1))
        assert all(0 <= d <= bound for d in delays) and max(delays) > bound / 2 and len(set(delays)) > 100


def test_a_circuit_opens_after_failures_in_the_window_then_lets_one_trial_through():
    policy = CooldownPolicy(failures=3, window_seconds=10, cooldown_seconds=5)
    circuit = Circuit("p/m", "p")
    circuit.failed("server", policy, 0.0, counts=True)
    circuit.failed("server", policy, 20.0, counts=True)  # the first fell out of the window
    circuit.failed("caller", policy, 21.0, counts=False)  # the caller's fault is not the deployment's
    circuit.failed("timeout", policy, 22.0, counts=True)
    assert circuit.state(22.0) == "closed"
    circuit.failed("server", policy, 23.0, counts=True)
    assert circuit.state(23.0) == "open" and not circuit.available(27.9)
    assert circuit.state(28.1) == "half_open" and circuit.available(28.1)
    circuit.trial = True
    assert not circuit.available(28.2)  # one trial at a time
    circuit.failed("server", policy, 28.5, counts=True)  # the trial failed: open again, at once
    assert circuit.state(28.6) == "open" and circuit.opened == 2
    circuit.succeeded(0.1)  # a success (a trial after the next cooldown) closes it
    assert circuit.state(40.0) == "closed" and circuit.available(40.0)
    assert circuit.faults == {"server": 4, "timeout": 1, "caller": 1}


def test_weighted_balancing_gives_exact_shares_spread_out():
    balancer = Balancer("weighted", [5, 1, 1])
    circuits = [Circuit(str(i), "p") for i in range(3)]
    picks = [balancer.order(circuits)[0] for _ in range(700)]
    assert Counter(picks) == {0: 500, 1: 100, 2: 100}
    assert all(picks[i:i + 7].count(0) == 5 for i in range(0, 700, 7))  # never seven of one in a row


def test_least_inflight_and_lowest_latency_orders():
    circuits = [Circuit(str(i), "p") for i in range(3)]
    circuits[0].inflight, circuits[1].inflight, circuits[2].inflight = 4, 0, 2
    assert Balancer("least_inflight", [1, 1, 1]).order(circuits) == [1, 2, 0]
    for circuit, seconds in zip(circuits, (0.3, 0.1, 0.2), strict=True):
        circuit.succeeded(seconds)
    assert Balancer("lowest_latency", [1, 1, 1]).order(circuits) == [1, 2, 0]


def test_routing_metadata_errors_name_the_field():
    with pytest.raises(InvalidRequestError) as caught:
        parse_routing({"deployments": [{"model": "a/m"}], "strategy": "fastest"})
    assert "metadata.routing.strategy" in caught.value.message and caught.value.param == "metadata"
