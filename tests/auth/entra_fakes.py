"""A stand-in for Microsoft Entra ID: RSA keys the tests generate, and a real JWKS endpoint on loopback.

`Signer` is one of the tenant's signing keys; `JwksServer` publishes whichever signers a test chooses,
counts how often it is fetched, and can be stopped to play an outage.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://hpcburst-test"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


class Signer:
    """One RSA signing key with its key id, as the tenant would hold it."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        key = jwt.algorithms.RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        return {**key, "kid": self.kid, "use": "sig"}

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


def claims(**overrides: Any) -> dict[str, Any]:
    """The claims of a valid access token for the test API, issued just now; None removes a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": "0000aaaa-0000-0000-0000-00000000000a",
        "sub": "subject-of-ada",
        "preferred_username": "ada@contoso.example",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 serving the signers published to it (or a raw body, to break it)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.raw_body: bytes | None = None
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = server.raw_body or json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/discovery/v2.0/keys"
        # A short poll interval: stopping the server (every test's teardown) waits for one poll.
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def publish(self, *signers: Signer) -> None:
        self.keys = [s.jwk() for s in signers]

    def stop(self) -> None:
        """Stop serving (idempotent): the endpoint's port then refuses connections."""
        if not self._thread.is_alive():
            return
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()
