"""Interpreting a token item (docs/token-store.md, "A token item" and "Reading"): pure, no I/O.

The reader fetches an item with the low-level DynamoDB client, so attributes arrive typed
(``{"S": "..."}``, ``{"N": "..."}``, ``{"M": {...}}``). This module turns that into either an
error or a :class:`StoredToken` whose access token is plaintext or an envelope still to open,
then checks the expiry once the token is open. It never holds a data key and never logs.

Attribute rules beyond the contract's words, chosen so every reader agrees:
- ``{"NULL": true}`` counts as absent, like a missing attribute (some SDKs write null for None).
- Numbers are integers that fit in 64 bits (epoch seconds, versions); anything else is malformed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Optional, Union

from .envelope import Envelope, parse_envelope
from .errors import (
    MalformedItemError,
    NeedsReauthError,
    TokenExpiredError,
    TokenInactiveError,
    TokenNotFoundError,
)

__all__ = [
    "PROJECTED_ATTRIBUTES",
    "RUN_LOCK_KEY",
    "STATUS_ACTIVE",
    "STATUS_INACTIVE",
    "STATUS_NEEDS_REAUTH",
    "Item",
    "StoredToken",
    "Token",
    "check_validity",
    "expires_too_soon",
    "interpret_item",
    "is_reserved_key",
    "require_token",
]

STATUS_ACTIVE = "active"
STATUS_NEEDS_REAUTH = "needs_reauth"
STATUS_INACTIVE = "inactive"

# The refresher's provider locks live in the same table (`cron` / `refresh-oauth#<provider>`;
# earlier releases kept one lock at `cron` / `refresh-oauth`); a reader answers "not found".
RUN_LOCK_KEY = ("cron", "refresh-oauth")

# What a reader needs from an item. `userId` is there so an item that exists is never empty;
# the refresh token is left out on purpose: an app never needs it, so it never receives it.
PROJECTED_ATTRIBUTES = ("userId", "accessToken", "expiresAt", "scope", "status", "version")

# An item as the low-level client returns it: attribute name -> {type: value}. The values are
# checked here rather than trusted, hence Any.
Item = Mapping[str, Any]

# Epoch seconds and versions are unsigned 64-bit numbers in the Rust reader and writers.
_UINT64_MAX = 2**64 - 1


@dataclass(frozen=True, repr=False)
class Token:
    """An access token that is current for its item; printing it never shows the token."""

    access_token: str = field(repr=False)
    expires_at: Optional[int]
    scope: Optional[str]
    status: str
    version: int

    def __repr__(self) -> str:
        return (
            f"Token(access_token='***', expires_at={self.expires_at!r}, scope={self.scope!r}, "
            f"status={self.status!r}, version={self.version!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class StoredToken:
    """An item that passed every check that needs no key; the access token may still be sealed."""

    access_token: Union[str, Envelope]
    expires_at: Optional[int]
    scope: Optional[str]
    status: str
    version: int

    def __repr__(self) -> str:
        sealed = isinstance(self.access_token, Envelope)
        return (
            f"StoredToken(access_token={'<envelope>' if sealed else '***'}, "
            f"expires_at={self.expires_at!r}, version={self.version!r})"
        )


def is_reserved_key(user_id: str, platform: str) -> bool:
    """A provider lock is not a token; apps never read it (the contract's "Provider locks")."""
    lock_user, lock_platform = RUN_LOCK_KEY
    return user_id == lock_user and (
        platform == lock_platform or platform.startswith(lock_platform + "#")
    )


def interpret_item(item: Optional[Item], *, user_id: str, platform: str) -> StoredToken:
    """Applies the contract's reading steps 2 and 3 (structure only) to one item.

    Order matters because every reader must report the same error for the same item: existence,
    then status (a dead grant is reported as such whatever its token looks like), then the access
    token, then the other attributes. The reader then checks the expiry, and opens the envelope
    last, so an expired token costs no KMS call (the Rust and TypeScript readers do the same).
    """
    ctx = _Context(user_id=user_id, platform=platform)
    if not item or is_reserved_key(user_id, platform):
        raise TokenNotFoundError(
            f"No token for ({user_id!r}, {platform!r}): the user has not connected this account. "
            "Send them through the connect flow (or deployer tokens connect).",
            user_id=user_id,
            platform=platform,
        )
    status = _status(item, ctx)
    access_token = _access_token(item, ctx)
    return StoredToken(
        access_token=access_token,
        expires_at=_integer(item, "expiresAt", ctx),
        scope=_string(item, "scope", ctx),
        status=status,
        version=_version(item, ctx),
    )


def require_token(value: str, *, user_id: str, platform: str) -> str:
    """An empty access token counts as absent (the contract's formats); absent is "not found"."""
    if value == "":
        raise _no_access_token(user_id, platform)
    return value


def expires_too_soon(expires_at: Optional[int], min_validity_seconds: float, now: float) -> bool:
    """The token expires within ``min_validity_seconds`` (at least 1) of ``now``, in whole
    seconds; an unknown expiry never does.
    """
    return expires_at is not None and expires_at < math.floor(now) + max(min_validity_seconds, 1)


def check_validity(
    expires_at: Optional[int],
    *,
    min_validity_seconds: float,
    now: float,
    user_id: str,
    platform: str,
) -> None:
    """Raises when the token expires within ``min_validity_seconds`` of ``now`` (step 4).

    ``now`` counts in whole seconds, like ``expiresAt``, and at least one second of validity is
    always asked (as the Rust and TypeScript readers do): with the default of 0, a token that is
    past its expiry or expires this second is EXPIRED, since a provider would refuse it anyway.
    No ``expiresAt``: nothing is known, nothing to check.
    """
    if expires_at is None or not expires_too_soon(expires_at, min_validity_seconds, now):
        return
    raise TokenExpiredError(
        f"The token of ({user_id!r}, {platform!r}) expires at {expires_at} (epoch seconds), "
        f"within the {min_validity_seconds:g} s asked for. The refresher refreshes it on its "
        "schedule; retry after its next run, or ask for less validity.",
        user_id=user_id,
        platform=platform,
        expires_at=expires_at,
        min_validity_seconds=min_validity_seconds,
    )


@dataclass(frozen=True)
class _Context:
    user_id: str
    platform: str

    def malformed(self, attribute: str, what: str) -> MalformedItemError:
        return MalformedItemError(
            f"{attribute} of ({self.user_id!r}, {self.platform!r}) {what}. The item's writer "
            "does not follow docs/token-store.md; reconnect the account (deployer tokens "
            "connect) or fix that writer.",
            user_id=self.user_id,
            platform=self.platform,
            attribute=attribute,
        )


def _no_access_token(user_id: str, platform: str) -> TokenNotFoundError:
    return TokenNotFoundError(
        f"The item ({user_id!r}, {platform!r}) holds no access token, so it is not a token. "
        "Send the user through the connect flow (or deployer tokens connect).",
        user_id=user_id,
        platform=platform,
    )


def _typed(item: Item, name: str, ctx: _Context) -> Optional[tuple[str, Any]]:
    """The (type, value) of an attribute, or None when it is absent or NULL."""
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ctx.malformed(name, "is not a DynamoDB attribute value")
    kind, inner = next(iter(value.items()))
    if kind == "NULL":
        return None
    return kind, inner


def _status(item: Item, ctx: _Context) -> str:
    """Absent means active; needs_reauth and inactive raise; any other value reads as inactive."""
    status = _string(item, "status", ctx)
    if status is None or status == STATUS_ACTIVE:
        return STATUS_ACTIVE
    if status == STATUS_NEEDS_REAUTH:
        raise NeedsReauthError(
            f"The grant of ({ctx.user_id!r}, {ctx.platform!r}) is dead (needs_reauth): the user "
            "must connect the account again; only a new consent makes it active.",
            user_id=ctx.user_id,
            platform=ctx.platform,
        )
    what = "inactive (disconnected)" if status == STATUS_INACTIVE else "of an unknown status"
    raise TokenInactiveError(
        f"The token of ({ctx.user_id!r}, {ctx.platform!r}) is {what}; nobody refreshes or "
        "returns it. Reconnect the account to use it again.",
        user_id=ctx.user_id,
        platform=ctx.platform,
        status=status,
    )


def _access_token(item: Item, ctx: _Context) -> Union[str, Envelope]:
    """``M`` is an envelope, ``S`` plaintext (empty = absent), absent is "not a token"."""
    typed = _typed(item, "accessToken", ctx)
    if typed is None:
        raise _no_access_token(ctx.user_id, ctx.platform)
    kind, value = typed
    if kind == "S" and isinstance(value, str):
        return require_token(value, user_id=ctx.user_id, platform=ctx.platform)
    if kind == "M" and isinstance(value, Mapping):
        fields = _envelope_fields(value, ctx)
        return parse_envelope(fields, user_id=ctx.user_id, platform=ctx.platform)
    raise ctx.malformed(
        "accessToken", f"has DynamoDB type {kind}; it must be M (envelope) or S (plaintext)"
    )


def _envelope_fields(value: Mapping[str, Any], ctx: _Context) -> dict[str, object]:
    """The map's typed attributes in the envelope's JSON form (version N, the others S).

    A field of another DynamoDB type becomes a marker that is neither int nor str, so that
    parse_envelope reports it by name, after the version check: an envelope of an unknown
    version is reported as such even when its other fields differ.
    """
    fields: dict[str, object] = {}
    for name, attribute in value.items():
        if not isinstance(attribute, Mapping) or len(attribute) != 1:
            raise ctx.malformed(f"accessToken.{name}", "is not a DynamoDB attribute value")
        kind, inner = next(iter(attribute.items()))
        if kind == "N" and name == "version" and isinstance(inner, str):
            fields[name] = _parse_integer(inner, f"accessToken.{name}", ctx)
        elif kind == "S" and name != "version" and isinstance(inner, str):
            fields[name] = inner
        else:
            fields[name] = _OtherType(kind)
    return fields


@dataclass(frozen=True)
class _OtherType:
    """A field whose DynamoDB type the envelope does not allow there."""

    kind: str


def _string(item: Item, name: str, ctx: _Context) -> Optional[str]:
    typed = _typed(item, name, ctx)
    if typed is None:
        return None
    kind, value = typed
    if kind != "S" or not isinstance(value, str):
        raise ctx.malformed(name, f"has DynamoDB type {kind}; it must be S")
    return value


def _integer(item: Item, name: str, ctx: _Context) -> Optional[int]:
    typed = _typed(item, name, ctx)
    if typed is None:
        return None
    kind, value = typed
    if kind != "N" or not isinstance(value, str):
        raise ctx.malformed(name, f"has DynamoDB type {kind}; it must be N")
    return _parse_integer(value, name, ctx)


def _version(item: Item, ctx: _Context) -> int:
    """Absent means 0: an app that keeps no version (the contract's version rule)."""
    version = _integer(item, "version", ctx)
    return 0 if version is None else version


def _parse_integer(text: str, name: str, ctx: _Context) -> int:
    """A whole DynamoDB number from 0 to 2**64 - 1 (what the Rust writers and reader use)."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ctx.malformed(name, "is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ctx.malformed(name, "is not a whole number")
    if not 0 <= number <= _UINT64_MAX:
        raise ctx.malformed(name, "is not between 0 and 2**64 - 1")
    return int(number)
