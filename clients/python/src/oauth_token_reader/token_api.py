"""The token API's wire format as the reader speaks it (docs/token-api.md): the ``refresh``
request, and the answer mapped to the reader's own errors. Pure; the invocation is in
:mod:`oauth_token_reader.refresh`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from .errors import (
    ConfigurationError,
    MalformedItemError,
    NeedsReauthError,
    RefreshFailedError,
    TokenInactiveError,
    TokenNotFoundError,
    TokenReaderError,
)

__all__ = [
    "MAX_MIN_VALIDITY_SECONDS",
    "READER_EVENT_SOURCE",
    "REFRESH_REQUESTED",
    "RefreshAnswer",
    "interpret_answer",
    "refresh_request",
    "refresh_requested_entry",
]

# The detail-type of an asynchronous refresh request on the stage's bus.
REFRESH_REQUESTED = "token.refresh-requested"
# The source the readers put their requests under (the refresher's own is ``oauth-refresher``).
READER_EVENT_SOURCE = "oauth-refresher.reader"

# The token API refuses a ``minValiditySeconds`` above a day.
MAX_MIN_VALIDITY_SECONDS = 86_400


@dataclass(frozen=True)
class RefreshAnswer:
    """A successful answer: the stored token's state after the request (never its value)."""

    status: str
    expires_at: Optional[int]
    version: Optional[int]
    refreshed: bool
    """This request called the provider."""
    coalesced: bool
    """It waited for another refresher's result."""


def refresh_request(
    user_id: str,
    platform: str,
    *,
    force: bool,
    min_validity_seconds: float,
    seen_version: Optional[int],
) -> dict[str, Any]:
    """The request for a token the caller read at ``seen_version`` (None: no version).

    The validity is whole seconds of at least 1, as the reader's own expiry check counts them.
    """
    minimum = min(max(math.ceil(min_validity_seconds), 1), MAX_MIN_VALIDITY_SECONDS)
    request: dict[str, Any] = {
        "action": "refresh",
        "userId": user_id,
        "platform": platform,
        "force": force,
        "minValiditySeconds": minimum,
    }
    if seen_version is not None:
        request["seenVersion"] = seen_version
    return request


def refresh_requested_entry(
    user_id: str, platform: str, *, force: bool, event_bus_name: str
) -> dict[str, str]:
    """The PutEvents entry of a ``token.refresh-requested`` event
    (schemas/events/token.refresh-requested.schema.json): the key and ``force``, never a token.
    """
    return {
        "EventBusName": event_bus_name,
        "Source": READER_EVENT_SOURCE,
        "DetailType": REFRESH_REQUESTED,
        "Detail": json.dumps({"userId": user_id, "platform": platform, "force": force}),
    }


def interpret_answer(
    payload: object, *, user_id: str, platform: str, function_name: str
) -> RefreshAnswer:
    """A successful answer's fields, or raises the reader error the answer's code stands for."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("ok"), bool):
        raise RefreshFailedError(
            f"{function_name} answered something that is not a token API answer; check that "
            "TokenApiFnArn names the stage's token API.",
            user_id=user_id,
            platform=platform,
            failure="UNAVAILABLE",
            reason=None,
            retryable=False,
        )
    if payload["ok"]:
        status = payload.get("status")
        return RefreshAnswer(
            status=status if isinstance(status, str) else "active",
            expires_at=_int_or_none(payload.get("expiresAt")),
            version=_int_or_none(payload.get("version")),
            refreshed=payload.get("refreshed") is True,
            coalesced=payload.get("coalesced") is True,
        )
    error = payload.get("error")
    fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
    raise _answer_error(fields, user_id=user_id, platform=platform, function_name=function_name)


def _answer_error(
    error: Mapping[str, Any], *, user_id: str, platform: str, function_name: str
) -> TokenReaderError:
    code = error.get("code") if isinstance(error.get("code"), str) else "UNAVAILABLE"
    message = str(error.get("message") or "")
    reason = error.get("reason") if isinstance(error.get("reason"), str) else None
    key = {"user_id": user_id, "platform": platform}
    who = f"({user_id!r}, {platform!r})"
    if code == "NOT_FOUND":
        return TokenNotFoundError(
            f"No token for {who}: the token API found no item. Send the user through the "
            "connect flow.",
            **key,
        )
    if code == "NEEDS_REAUTH":
        return NeedsReauthError(
            f"The token of {who} needs re-authorisation ({reason or 'no reason recorded'}): "
            "ask the user to reconnect the account.",
            **key,
        )
    if code == "INACTIVE":
        return TokenInactiveError(
            f"The token of {who} is inactive (disconnected): the user must reconnect it.",
            **key,
            status="inactive",
        )
    if code == "MALFORMED_ITEM":
        return MalformedItemError(
            f"The token of {who} cannot be refreshed: {message} "
            "(`deployer tokens check --all` names what is wrong).",
            **key,
            attribute="(item)",
        )
    if code in ("UNKNOWN_PLATFORM", "BAD_REQUEST"):
        return ConfigurationError(
            f"{function_name} refused the request ({code}): {message} Use a provider of the "
            "stage, and a reader that matches the deployed stack."
        )
    failure = code if code in ("BUSY", "REFRESH_FAILED") else "UNAVAILABLE"
    retryable = error.get("retryable") is True or failure == "UNAVAILABLE"
    return RefreshFailedError(
        f"The token of {who} was not refreshed ({failure}"
        f"{', ' + reason if reason else ''}): {message} "
        + (
            "Retry in a few seconds; the stored token is unchanged."
            if retryable
            else "Retrying will not help: check the stage's provider configuration "
            "(`deployer verify`)."
        ),
        **key,
        failure=failure,
        reason=reason,
        retryable=retryable,
    )


def _int_or_none(value: object) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
