"""The /v1/files routes over plain HTTP: multipart handling, form-field errors, paths and the content response."""

import polystack
from polystack.core.config import parse_run_config


def config(tmp_path, **files_config):
    return parse_run_config({
        "distro_name": "files-routes",
        "providers": {"files": [{"provider_id": "localfs", "provider_type": "inline::localfs",
                                 "config": {"storage_dir": str(tmp_path / "files"), **files_config}}]},
    }, env={})


def multipart(*parts: tuple[str, str | None, bytes]) -> tuple[bytes, dict[str, str]]:
    """A multipart body with the parts in the order given: (name, filename or None, value)."""
    boundary = "polystack-test-boundary"
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def stored(tmp_path):
    return [p for p in (tmp_path / "files").iterdir() if p.is_file() and p.name.startswith("file-")]


async def test_file_sent_before_its_fields_is_still_accepted(tmp_path):
    body, headers = multipart(("file", "a.txt", b"first"), ("purpose", None, b"user_data"),
                              ("expires_after[anchor]", None, b"created_at"),
                              ("expires_after[seconds]", None, b"7200"))
    async with polystack.connect(config(tmp_path)) as stack:
        response = await stack.http.post("/v1/files", content=body, headers=headers)
        assert response.status_code == 200, response.text
        file = response.json()
        assert (file["purpose"], file["bytes"], file["filename"]) == ("user_data", 5, "a.txt")
        assert file["expires_at"] == file["created_at"] + 7200
        assert set(file) == {"id", "object", "bytes", "created_at", "expires_at", "filename", "purpose", "status"}


async def test_expiry_sent_after_a_streamed_file_is_refused_and_nothing_is_kept(tmp_path):
    body, headers = multipart(("purpose", None, b"user_data"), ("file", "a.txt", b"data"),
                              ("expires_after[seconds]", None, b"7200"))
    async with polystack.connect(config(tmp_path)) as stack:
        response = await stack.http.post("/v1/files", content=body, headers=headers)
        assert response.status_code == 400 and response.json()["error"]["param"] == "expires_after[seconds]"
        assert stored(tmp_path) == []


async def test_missing_file_or_purpose_gets_400_naming_it(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        no_file = await stack.http.post("/v1/files", data={"purpose": "batch"}, files={"other": ("x", b"1")})
        assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
        no_purpose = await stack.http.post("/v1/files", files={"file": ("x.txt", b"1")})
        assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"


async def test_a_body_that_is_not_multipart_or_is_cut_short_gets_400(tmp_path):
    body, headers = multipart(("purpose", None, b"batch"), ("file", "a.txt", b"data"))
    async with polystack.connect(config(tmp_path)) as stack:
        response = await stack.http.post("/v1/files", json={"purpose": "batch"})
        assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]["message"]
        cut = await stack.http.post("/v1/files", content=body[:-40], headers=headers)
        assert cut.status_code == 400
        assert stored(tmp_path) == []


async def test_bad_expiry_fields_get_400_naming_the_field(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        for fields, param in [({"expires_after[anchor]": "last_used", "expires_after[seconds]": "3600"},
                               "expires_after[anchor]"),
                              ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"},
                               "expires_after[seconds]"),
                              ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"},
                               "expires_after[seconds]")]:
            response = await stack.http.post("/v1/files", data={"purpose": "batch", **fields},
                                             files={"file": ("x.txt", b"1")})
            assert response.status_code == 400 and response.json()["error"]["param"] == param, fields


async def test_list_rejects_an_unknown_purpose_and_a_limit_out_of_range(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        response = await stack.http.get("/v1/files", params={"purpose": "homework"})
        assert response.status_code == 400 and response.json()["error"]["param"] == "purpose"
        assert (await stack.http.get("/v1/files", params={"limit": 10001})).status_code == 400
        assert (await stack.http.get("/v1/files", params={"limit": 0})).status_code == 400
        listed = (await stack.http.get("/v1/files")).json()
        assert listed == {"object": "list", "data": [], "first_id": "", "last_id": "", "has_more": False}


async def test_files_are_also_served_under_the_deprecated_openai_prefix(tmp_path):
    async with polystack.connect(config(tmp_path)) as stack:
        created = (await stack.http.post("/v1/openai/v1/files", data={"purpose": "vision"},
                                         files={"file": ("p.png", b"\x89PNG")})).json()
        assert (await stack.http.get(f"/v1/openai/v1/files/{created['id']}/content")).content == b"\x89PNG"
        deleted = (await stack.http.delete(f"/v1/files/{created['id']}")).json()
        assert deleted == {"id": created["id"], "object": "file", "deleted": True}
