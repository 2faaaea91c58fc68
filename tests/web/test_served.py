"""What the HTTP app serves for the web app, without a browser: the shell, the service
worker and manifest, the offline docs under their Content-Security-Policy, the security
headers and gzip on every response."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from fastapi.testclient import TestClient

from api.web import STATIC, shell_files


@pytest.fixture
def web(client: TestClient) -> TestClient:
    return client


def test_the_shell_is_served_at_the_root(web: TestClient) -> None:
    r = web.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js"></script>' in r.text
    assert "<script>" not in r.text and "style=" not in r.text  # nothing inline
    assert web.get("/static/js/app.js").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/", "/static/css/app.css", "/api/v1/checklist", "/nope"])
def test_every_response_carries_the_security_headers(web: TestClient, path: str) -> None:
    r = web.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    policy = r.headers["content-security-policy"]
    assert policy.startswith("default-src 'self';")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "server" not in r.headers


def test_the_service_worker_keeps_the_shell_but_not_the_vendored_libraries(
    web: TestClient,
) -> None:
    r = web.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    shell = json.loads(re.search(r"^const SHELL = (.*);$", r.text, re.MULTILINE)[1])  # type: ignore[index]
    assert shell == shell_files()
    assert {"/", "/static/js/app.js", "/static/js/pages/inspect.js"} <= set(shell)
    assert not [f for f in shell if "/vendor/" in f]
    for url in shell:
        assert web.get(url).status_code == 200, url
    manifest = web.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == "/#/"
    for icon in manifest.json()["icons"]:
        assert web.get(icon["src"]).status_code == 200, icon


def test_the_worker_version_follows_the_files(web: TestClient) -> None:
    version = re.search(r'^const VERSION = "(\w+)";$', web.get("/sw.js").text, re.MULTILINE)
    assert version is not None and len(version[1]) == 16


def test_the_worker_never_answers_other_methods_than_get() -> None:
    source = (STATIC.parent / "sw.js").read_text(encoding="utf-8")
    assert "if (request.method !== 'GET') return;" in source


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect", "/redoc"])
def test_the_docs_use_local_files_and_allow_only_their_own_inline_script(
    web: TestClient, path: str
) -> None:
    r = web.get(path)
    assert r.status_code == 200
    assert "http://" not in r.text and "https://" not in r.text.replace("https://redocly.com", "")
    policy = r.headers["content-security-policy"]
    assert policy.startswith("default-src 'self';")
    for body in re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert web.get(src).status_code == 200, src


def test_the_openapi_document_still_lists_the_api(web: TestClient) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert "/api/v1/me" in paths
    assert "/" not in paths and "/docs" not in paths
    assert "Idempotency-Key" in json.dumps(paths["/api/v1/shelters/{code}/inspections"])


def test_text_is_sent_compressed(web: TestClient) -> None:
    r = web.get(
        "/static/vendor/swagger-ui/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"}
    )
    assert r.headers["content-encoding"] == "gzip"
    assert r.num_bytes_downloaded < len(r.content) / 2
