"""A real OAuth 2.1 / OpenID authorization server for the tests, built on authlib (its Flask authorization
server, authorization-code grant with PKCE required, RFC 7591 dynamic registration, RFC 7662 introspection,
RFC 9068 JWT access tokens) and served by werkzeug on 127.0.0.1. It signs with RSA keys it can rotate, and
`mint` signs tokens with any claims for the negative cases.

Its one user, `USER`, consents at once: `GET /authorize` answers the redirect with the code, as a browser
would land after logging in."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import flask
import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import KeySet
from werkzeug.serving import make_server

#: RSA keys made once per process and handed out in turn (making one costs ~40 ms of CPU, and the OAuth tests
#: start a provider each): a provider's keys are distinct from each other and from `STRANGER`'s.
_KEYS: list[rsa.RSAPrivateKey] = []
_KEYS_LOCK = threading.Lock()
STRANGER = 0  # the key a test signs with to play a foreign issuer: no provider publishes it


def rsa_key(index: int) -> rsa.RSAPrivateKey:
    """The `index`th key of this process (made on first use)."""
    with _KEYS_LOCK:
        while len(_KEYS) <= index:
            _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEYS[index]


USER = "alice@example.test"
INTROSPECTION_CLIENT = ("osvi-mcp-resource-server", "introspection-secret-0123")
SCOPES = ("openid", "osvi:read", "osvi:send", "osvi:operate")


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str | None
    metadata: dict[str, Any]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.metadata.get("redirect_uris") or []
        return str(uris[0]) if uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.metadata.get("redirect_uris") or [])

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.metadata.get("token_endpoint_auth_method", "client_secret_basic")
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class User:
    sub: str

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    resource: str | None
    auth_time: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_auth_time(self) -> int:
        return int(self.auth_time)

    def get_nonce(self) -> None:
        return None


@dataclass
class OpaqueToken:
    """A token only introspection can read (for the RFC 7662 path)."""

    access_token: str
    client_id: str
    scope: str
    audience: str
    expires_at: float
    subject: str = USER

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at < time.time()

    def is_revoked(self) -> bool:
        return False

    def get_client_id(self) -> str:
        return self.client_id


class Provider:
    """The authorization server's state: clients, codes, signing keys, issued opaque tokens."""

    def __init__(self) -> None:
        self.issuer = ""  # set once the port is known
        self.clients: dict[str, Client] = {
            INTROSPECTION_CLIENT[0]: Client(
                INTROSPECTION_CLIENT[0], INTROSPECTION_CLIENT[1], {"token_endpoint_auth_method": "client_secret_basic"}
            )
        }
        self.codes: dict[str, Code] = {}
        self.opaque: dict[str, OpaqueToken] = {}
        self.keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.jwks_fetches = 0
        #: Scopes the user consents to at most (None: whatever the client asks for).
        self.consent: set[str] | None = None
        self.rotate_key()

    # -- keys and tokens --------------------------------------------------------------------------------

    def rotate_key(self) -> str:
        """A new signing key, published in the JWKS beside the old ones and used from now on."""
        kid = f"key-{len(self.keys) + 1}-{secrets.token_hex(4)}"
        self.keys.append((kid, rsa_key(STRANGER + 1 + len(self.keys))))
        return kid

    @property
    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        return self.keys[-1]

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self._jwk(kid, key, private=False) for kid, key in self.keys]}

    @staticmethod
    def _jwk(kid: str, key: rsa.RSAPrivateKey, *, private: bool) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key if private else key.public_key(), as_dict=True)
        jwk.update(kid=kid, alg="RS256", use="sig")
        return jwk

    def claims(self, resource: str, scope: str = "osvi:read osvi:send", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": USER,
            "aud": resource,
            "client_id": "test-client",
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        resource: str,
        scope: str = "osvi:read osvi:send",
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        """A JWT access token signed with this provider's current key (or `key`), claims overridden."""
        current_kid, current_key = self.signing_key
        return jwt.encode(
            self.claims(resource, scope, **overrides),
            key or current_key,
            algorithm="RS256",
            headers={"kid": kid or current_kid, "typ": "at+jwt"},
        )

    def mint_opaque(self, resource: str, scope: str = "osvi:read", *, expires_in: float = 300) -> str:
        token = secrets.token_urlsafe(32)
        self.opaque[token] = OpaqueToken(token, "opaque-client", scope, resource, time.time() + expires_in)
        return token

    def metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "registration_endpoint": f"{base}/register",
            "introspection_endpoint": f"{base}/introspect",
            "jwks_uri": f"{base}/jwks",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }


def create_app(provider: Provider) -> flask.Flask:
    app = flask.Flask("test-oauth-provider")

    class TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
        def get_jwks(self) -> KeySet:
            kid, key = provider.signing_key
            return KeySet.import_key_set({"keys": [Provider._jwk(kid, key, private=True)]})

        def get_audiences(self, client: Client, user: User, scope: str) -> str:
            # RFC 8707: the token is for the resource the client named.
            return str(flask.request.form.get("resource") or client.get_client_id())

        def get_extra_claims(self, client: Client, grant_type: str, user: User, scope: str) -> dict[str, Any]:
            return {"sub": user.get_user_id()}

    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            provider.codes[code] = Code(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=" ".join(
                    s for s in (request.scope or "").split() if provider.consent is None or s in provider.consent
                ),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                resource=data.get("resource"),
            )

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            return found if found is not None and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> User:
            return User(USER)

    class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
        def authenticate_token(self, request: Any) -> bool:
            return True  # open registration, as MCP clients expect

        def get_server_metadata(self) -> dict[str, Any]:
            return provider.metadata()

        def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> Client:
            method = client_metadata.get("token_endpoint_auth_method", "client_secret_basic")
            secret = None if method == "none" else client_info["client_secret"]
            client = Client(client_info["client_id"], secret, dict(client_metadata))
            provider.clients[client.client_id] = client
            return client

    class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
        CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic"]

        def query_token(self, token_string: str, token_type_hint: str | None) -> OpaqueToken | None:
            return provider.opaque.get(token_string)

        def introspect_token(self, token: OpaqueToken) -> dict[str, Any]:
            return {
                "active": True,
                "client_id": token.client_id,
                "token_type": "Bearer",
                "scope": token.scope,
                "sub": token.subject,
                "aud": token.audience,
                "iss": provider.issuer,
                "exp": int(token.expires_at),
                "iat": int(token.expires_at - 300),
            }

        def check_permission(self, token: OpaqueToken, client: Client, request: Any) -> bool:
            return bool(client.get_client_id() == INTROSPECTION_CLIENT[0])

    server = AuthorizationServer(
        app, query_client=lambda client_id: provider.clients.get(client_id), save_token=lambda token, request: None
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_endpoint(Registration)
    server.register_endpoint(Introspection)
    server.register_token_generator("default", TokenGenerator(issuer=""))

    @app.before_request
    def issuer_for_generator() -> None:
        for generator in server._token_generators.values():
            if isinstance(generator, JWTBearerTokenGenerator):
                generator.issuer = provider.issuer

    @app.get("/.well-known/oauth-authorization-server")
    @app.get("/.well-known/openid-configuration")
    def metadata() -> Any:
        return flask.jsonify(provider.metadata())

    @app.get("/jwks")
    def jwks() -> Any:
        provider.jwks_fetches += 1
        return flask.jsonify(provider.public_jwks())

    @app.get("/authorize")
    def authorize() -> Any:
        try:
            grant = server.get_consent_grant(end_user=User(USER))
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant_user=User(USER), grant=grant)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.post("/register")
    def register() -> Any:
        return server.create_endpoint_response("client_registration")

    @app.post("/introspect")
    def introspect() -> Any:
        return server.create_endpoint_response("introspection")

    return app


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The authorization server on 127.0.0.1 (a free port), in a thread, for the duration."""
    provider = Provider()
    http = make_server("127.0.0.1", 0, create_app(provider), threaded=True)
    provider.issuer = f"http://127.0.0.1:{http.server_port}"
    # A short poll: `shutdown()` waits for the next one (werkzeug's default, 0.5 s, was most of each test).
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        http.shutdown()
        thread.join(timeout=10)
