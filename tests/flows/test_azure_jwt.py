"""Azure AD secure webhook mode: a bearer JWT checked against a JWKS (served locally), issuer, audience, expiry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.server.app import create_app
from tests.conftest import write_config

ISSUER = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"
AUDIENCE = "api://mhhs-bridge"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "azure" / "common_metric_static_fired.json"
MAPPINGS = Path(__file__).resolve().parents[2] / "config" / "mappings"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="module")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keys"
    server.shutdown()


@pytest.fixture
def client(tmp_path: Path, jwks_url: str) -> Iterator[TestClient]:
    path = write_config(
        tmp_path,
        {
            "mappings_dir": str(MAPPINGS),
            "azure": {"tokens": [], "jwks_url": jwks_url, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE},
            "targets": {"sink": {"kind": "http", "base_url": "http://127.0.0.1:9"}},
            "routes": [{"name": "azure", "kind": "azure-alert", "target": "sink"}],
        },
    )
    runtime = build_runtime(load_config(path, environ={}))
    with TestClient(create_app(runtime, manage_runtime=False)) as c:
        yield c
    runtime.writer.close()
    runtime.store.dispose()


def _token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def _post(client: TestClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return client.post("/webhooks/azure-monitor", content=FIXTURE.read_bytes(), headers=headers).status_code


def test_valid_jwt_is_accepted(client: TestClient, signing_key: rsa.RSAPrivateKey) -> None:
    assert _post(client, _token(signing_key)) == 202


@pytest.mark.parametrize(
    "claims", [{"exp": int(time.time()) - 60}, {"aud": "api://someone-else"}, {"iss": "https://evil.example/"}]
)
def test_expired_or_foreign_jwt_is_refused(
    client: TestClient, signing_key: rsa.RSAPrivateKey, claims: dict[str, Any]
) -> None:
    assert _post(client, _token(signing_key, **claims)) == 401


def test_jwt_signed_by_another_key_is_refused(client: TestClient) -> None:
    assert _post(client, _token(_key())) == 401
    assert _post(client, "not.a.jwt") == 401
