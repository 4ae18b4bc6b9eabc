"""The Containerfile and deploy/compose.yaml agree with the code: entry point, port, health route, store
volume, and the environment variables postgres-demo's config reads.

They were built and run with podman (see the packaging report); this keeps them true without a container
engine in CI.
"""

import re
from pathlib import Path

import yaml

from polystack.core.config import resolve_config_path

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "Containerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def instruction(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in CONTAINERFILE.splitlines() if line.startswith(name + " ")]


def test_the_image_runs_polystack_as_a_non_root_user_with_its_store_in_a_volume():
    assert instruction("ENTRYPOINT") == ['["polystack", "run"]']
    assert instruction("CMD") == ['["starter", "--host", "0.0.0.0"]']  # a container's port is reached from outside
    [user] = instruction("USER")
    assert not user.startswith(("0", "root"))
    assert instruction("EXPOSE") == ["8321"]
    assert "POLYSTACK_STORE_DIR=/data" in CONTAINERFILE and instruction("VOLUME") == ['["/data"]']
    assert "/v1/health" in CONTAINERFILE.split("HEALTHCHECK", 1)[1]
    assert "-c requirements/lock.txt" in CONTAINERFILE  # the tested set


def test_the_build_context_holds_what_the_containerfile_copies():
    ignored = (ROOT / ".dockerignore").read_text()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", CONTAINERFILE, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path
            assert f"!{path.rstrip('/')}" in ignored.replace("/\n", "\n"), f"{path} is excluded from the context"


def test_compose_runs_postgres_demo_against_its_postgres_with_the_variables_the_config_reads():
    services = COMPOSE["services"]
    assert {"postgres", "redis", "polystack"} <= set(services)
    polystack = services["polystack"]
    assert polystack["command"][0] == "postgres-demo" and "0.0.0.0" in polystack["command"]
    assert polystack["build"]["dockerfile"] == "Containerfile"
    read = set(re.findall(r"\$\{env\.([A-Z_]+)", resolve_config_path("postgres-demo").read_text()))
    given = set(polystack["environment"])
    assert given <= read, f"set but never read by postgres-demo: {given - read}"
    assert {"POSTGRES_HOST", "PGVECTOR_HOST"} <= given
    assert polystack["environment"]["POSTGRES_HOST"] == polystack["environment"]["PGVECTOR_HOST"] == "postgres"
    assert "pgvector" in services["postgres"]["image"]  # remote::pgvector needs the extension
    assert {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}} == (
        polystack["depends_on"])
    mounts = {volume.split(":")[1] for volume in polystack["volumes"]}
    assert {"/data", "/data/files"} <= mounts  # the store dir, and POLYSTACK_FILES_DIR (the Containerfile's)
    assert "POLYSTACK_FILES_DIR=/data/files" in CONTAINERFILE
