"""A nats-server in operator mode, for tests of ``.creds`` files against a real server.

A server only accepts a user JWT under an operator that signed its account: without one it
refuses every JWT, so a credentials file can only be shown to work in operator mode. The
operator, account and user here are made of fresh NKeys and signed JWTs (the claims
``nsc`` writes, kept to what the server reads), the account JWT preloaded into a memory
resolver, with JetStream enabled for the account::

    creds = OperatorSetup.new()
    with natskv.EmbeddedServer(durable=False, extra_config=creds.server_config()) as srv:
        creds.write_creds(tmp_path / "user.creds")
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys

__all__ = ["OperatorSetup"]

_UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1}
_ACCOUNT_LIMITS = {
    **_UNLIMITED,
    "wildcards": True,
    "conn": -1,
    "leaf": -1,
    # JetStream on for the account: a server enables it only where the JWT allows storage
    "mem_storage": -1,
    "disk_storage": -1,
    "streams": -1,
    "consumer": -1,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class _Key:
    seed: bytes
    public: str

    @classmethod
    def new(cls, prefix: int) -> _Key:
        seed = bytes(nkeys.encode_seed(os.urandom(32), prefix))
        return cls(seed, nkeys.from_seed(seed).public_key.decode())

    def sign(self, data: bytes) -> bytes:
        return bytes(nkeys.from_seed(self.seed).sign(data))


def _jwt(issuer: _Key, subject: str, name: str, nats: dict[str, Any]) -> str:
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "iss": issuer.public,
        "name": name,
        "sub": subject,
        "nats": {**nats, "version": 2},
    }
    # the JWT id is a hash of the claims, as nats-io/jwt computes it (base32 of SHA-512/256)
    digest = hashlib.new("sha512_256", json.dumps(claims).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(issuer.sign(f'{head}.{body}'.encode()))}"


@dataclass(frozen=True)
class OperatorSetup:
    """An operator, its system account, one account with JetStream, and one user of it."""

    operator_jwt: str
    system_account: str
    system_jwt: str
    account: str
    account_jwt: str
    user_jwt: str
    user_seed: bytes

    @classmethod
    def new(cls) -> OperatorSetup:
        operator = _Key.new(nkeys.PREFIX_BYTE_OPERATOR)
        system = _Key.new(nkeys.PREFIX_BYTE_ACCOUNT)
        account = _Key.new(nkeys.PREFIX_BYTE_ACCOUNT)
        user = _Key.new(nkeys.PREFIX_BYTE_USER)
        user_claims = {"pub": {}, "sub": {}, **_UNLIMITED, "type": "user"}
        return cls(
            operator_jwt=_jwt(operator, operator.public, "test-operator", {"type": "operator"}),
            system_account=system.public,
            system_jwt=_jwt(
                operator, system.public, "SYS", {"limits": _UNLIMITED, "type": "account"}
            ),
            account=account.public,
            account_jwt=_jwt(
                operator, account.public, "app", {"limits": _ACCOUNT_LIMITS, "type": "account"}
            ),
            user_jwt=_jwt(account, user.public, "app-user", user_claims),
            user_seed=user.seed,
        )

    def server_config(self) -> str:
        """The lines of a nats-server config that trust this operator."""
        return (
            f'operator: "{self.operator_jwt}"\n'
            f"system_account: {self.system_account}\n"
            "resolver: MEMORY\n"
            "resolver_preload: {\n"
            f'  {self.system_account}: "{self.system_jwt}"\n'
            f'  {self.account}: "{self.account_jwt}"\n'
            "}\n"
        )

    def creds(self) -> str:
        """The user's ``.creds`` file, as ``nsc generate creds`` writes it."""
        return (
            "-----BEGIN NATS USER JWT-----\n"
            f"{self.user_jwt}\n"
            "------END NATS USER JWT------\n\n"
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            "-----BEGIN USER NKEY SEED-----\n"
            f"{self.user_seed.decode()}\n"
            "------END USER NKEY SEED------\n\n"
            "*************************************************************\n"
        )

    def write_creds(self, path: Path) -> Path:
        path.write_text(self.creds())
        path.chmod(0o600)
        return path
