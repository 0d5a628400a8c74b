"""Bearer API keys for the JSON API: who is calling, and may they call this endpoint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from leadrouter.auth.api_keys import find_api_key
from leadrouter.models import ApiKey

REALM = "leadrouter"
_LOOKUP = "leadrouter.api_key"


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def current_api_key() -> ApiKey | None:
    """The live API key this request presents (looked up once per request), or None."""
    # Cached in the WSGI environ, not in `g`: an app context can outlive one request.
    if _LOOKUP not in request.environ:
        token = bearer_token()
        request.environ[_LOOKUP] = find_api_key(token) if token else None
    return request.environ[_LOOKUP]


def authenticate(roles: tuple[str, ...]) -> ApiKey:
    """Return the request's API key; 401 without a valid one, 403 for a role not in `roles`."""
    if bearer_token() is None:
        raise Unauthorized(
            "Send an API key as 'Authorization: Bearer <key>'.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": REALM}),
        )
    api_key = current_api_key()
    if api_key is None:
        raise Unauthorized(
            "The API key is not valid or has been revoked.",
            www_authenticate=WWWAuthenticate("bearer", {"realm": REALM, "error": "invalid_token"}),
        )
    if api_key.role not in roles:
        raise Forbidden(f"This endpoint needs a {' or '.join(roles)} API key.")
    return api_key


def require_api_key(*roles: str) -> Callable:
    """Decorate a view so it runs only for a valid key of one of `roles` (in `g.api_key`)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.api_key = authenticate(roles)
            return view(*args, **kwargs)

        wrapper.api_key_roles = roles
        return wrapper

    return decorator


def api_actor(api_key: ApiKey) -> str:
    """How an API key appears as the actor on timelines and audit entries."""
    return f"api_key:{api_key.id}"


def rate_limit_key() -> str:
    """Rate-limit bucket: the API key when it is valid, else the client address.

    Keying on the raw header would let a client dodge the limit by sending a new random
    token each time.
    """
    api_key = current_api_key()
    if api_key is not None:
        return f"api-key:{api_key.id}"
    return f"addr:{request.remote_addr or 'unknown'}"
