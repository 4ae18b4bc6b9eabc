"""check_server: a provider in error or a failing health check makes the server unhealthy; URLs are forgiving."""

import httpx
import pytest

from polystack.cli.status import api_base, check_server


def server(health_status=200, provider_health="OK"):
    def handler(request: httpx.Request) -> httpx.Response:
        answers = {
            "/v1/health": httpx.Response(health_status, json={"status": "OK" if health_status == 200 else "Error"}),
            "/v1/version": httpx.Response(200, json={"version": "9.9"}),
            "/v1/providers": httpx.Response(200, json={"data": [
                {"api": "inference", "provider_id": "p", "provider_type": "remote::x", "config": {},
                 "health": {"status": provider_health, "message": "upstream down"}}]}),
            "/v1/models": httpx.Response(200, json={"data": [{"id": "p/m", "custom_metadata": {}}]}),
        }
        return answers.get(request.url.path, httpx.Response(404))

    return httpx.MockTransport(handler)


def test_a_healthy_server_is_ok_with_its_version_providers_and_models():
    status = check_server("http://h:1", transport=server())
    assert status.ok and status.version == "9.9" and status.models[0]["id"] == "p/m"


def test_a_provider_in_error_makes_the_server_unhealthy():
    status = check_server("http://h:1", transport=server(provider_health="Error"))
    assert not status.ok and status.failing_providers == ["p"]


def test_a_failing_health_check_makes_the_server_unhealthy():
    status = check_server("http://h:1", transport=server(health_status=503))
    assert not status.ok and "503" in (status.error or "")


@pytest.mark.parametrize("url", ["http://h:1", "http://h:1/", "http://h:1/v1", "h:1"])
def test_the_url_may_name_the_server_or_its_v1(url):
    assert api_base(url) == "http://h:1/v1"
