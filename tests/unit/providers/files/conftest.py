"""Fixtures of the files contract: a real moto S3 server, and one Backend per files provider."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from polystack.core.config import RunConfig, parse_run_config

MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """`python -m moto.server` on a free port of 127.0.0.1: the S3 endpoint of the s3 backend."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the moto server did not start") from None
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Backend:
    """One files provider set up in `tmp`: run configs for it, and a look at the bytes it keeps."""

    name: str
    tmp: Path
    endpoint: str | None = None
    bucket: str = field(default_factory=lambda: f"polystack-test-{uuid.uuid4().hex[:12]}")

    def provider_config(self, **overrides: Any) -> dict[str, Any]:
        config: dict[str, Any] = {"metadata_store": {"backend": "sql"}, "expiry_sweep_interval_seconds": 0.2}
        if self.name == "localfs":
            config["storage_dir"] = str(self.tmp / "files")
        else:
            config.update(bucket=self.bucket, endpoint_url=self.endpoint, region="us-east-1",
                          access_key_id="testing", secret_access_key="testing", create_bucket_if_missing=True,
                          part_size_bytes=5 * MB)
        return {**config, **overrides}

    def config(self, **overrides: Any) -> RunConfig:
        provider_type = "inline::localfs" if self.name == "localfs" else "remote::s3"
        return parse_run_config({
            "distro_name": f"files-{self.name}",
            "providers": {"files": [{"provider_id": self.name, "provider_type": provider_type,
                                     "config": self.provider_config(**overrides)}]},
            "storage": {"backends": {"sql": {"type": "sql_sqlite", "db_path": str(self.tmp / "metadata.db")}}},
        }, env={})

    def stored_objects(self) -> list[str]:
        """Every complete or partial piece of file content the provider keeps."""
        if self.name == "localfs":
            root = self.tmp / "files"
            return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
        client = self._s3()
        objects = [item["Key"] for item in client.list_objects_v2(Bucket=self.bucket).get("Contents", [])]
        uploads = [item["Key"] for item in client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])]
        return sorted(objects + [f"(incomplete) {key}" for key in uploads])

    def _s3(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(params=["localfs", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "s3":
        return Backend("s3", tmp_path, endpoint=request.getfixturevalue("moto_endpoint"))
    return Backend("localfs", tmp_path)
