"""The reader's two ways to ask for a refresh (docs/token-api.md): a synchronous invocation of
the token API, shared by the threads that ask for the same refresh at the same time (one call,
one answer for all), and a ``token.refresh-requested`` event on the stage's bus, for
fire-and-forget. The wire formats are :mod:`oauth_token_reader.token_api`; this is the I/O.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, Optional, Protocol

import botocore.exceptions

from .errors import ConfigurationError, RefreshFailedError
from .token_api import RefreshAnswer, interpret_answer, refresh_requested_entry

__all__ = ["EventsClient", "InvokeClient", "RefreshEvents", "TokenApi"]


class InvokeClient(Protocol):
    """What the reader needs of a Lambda client: ``boto3.client("lambda")`` fits."""

    def invoke(self, **params: Any) -> Mapping[str, Any]: ...


class EventsClient(Protocol):
    """What the reader needs of an EventBridge client: ``boto3.client("events")`` fits."""

    def put_events(self, **params: Any) -> Mapping[str, Any]: ...


class RefreshEvents:
    """``token.refresh-requested`` events on the stage's bus, which its rule delivers to the
    token API (retried, then the DLQ).
    """

    def __init__(self, event_bus_name: str, client: EventsClient) -> None:
        self.event_bus_name = event_bus_name
        self._client = client
        self._lock = threading.Lock()
        self.sent = 0

    def request(self, user_id: str, platform: str, *, force: bool) -> str:
        """Puts one request; its EventBridge event id."""
        entry = refresh_requested_entry(
            user_id, platform, force=force, event_bus_name=self.event_bus_name
        )
        try:
            response = self._client.put_events(Entries=[entry])
        except botocore.exceptions.ClientError as exc:
            mapped = self._error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        entries = response.get("Entries") or [{}]
        event_id = entries[0].get("EventId")
        if response.get("FailedEntryCount", 0) or not event_id:
            raise RefreshFailedError(
                "EventBridge did not accept the refresh request "
                f"({entries[0].get('ErrorCode', 'no event id')}): retry in a few seconds.",
                user_id=user_id,
                platform=platform,
                failure="UNAVAILABLE",
                reason=None,
                retryable=True,
            )
        with self._lock:
            self.sent += 1
        return str(event_id)

    def _error(self, exc: botocore.exceptions.ClientError) -> Optional[Exception]:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return ConfigurationError(
                f"The event bus {self.event_bus_name!r} does not exist in this account and "
                "region: check EventBusName against `deployer outputs --stage S --format env`."
            )
        if code == "AccessDeniedException":
            return ConfigurationError(
                "Not allowed to put token.refresh-requested events on "
                f"{self.event_bus_name!r}: attach the stack's reader policy (output "
                "TokenReaderPolicyArn) to this app's role."
            )
        return None


class TokenApi:
    """The stage's token API function, invoked with the caller's Lambda client."""

    def __init__(self, function_name: str, client: InvokeClient) -> None:
        self.function_name = function_name
        self._client = client
        self._lock = threading.Lock()
        self._flights: dict[tuple[Any, ...], Future[RefreshAnswer]] = {}
        self.calls = 0
        self.shared_calls = 0

    def refresh(self, request: Mapping[str, Any]) -> RefreshAnswer:
        """The answer to ``request``; a thread asking the same while a call is under way gets
        that call's answer (or its error) instead of making another.
        """
        flight = (
            request["userId"],
            request["platform"],
            request["force"],
            request.get("seenVersion"),
        )
        with self._lock:
            shared = self._flights.get(flight)
            if shared is None:
                owned: Future[RefreshAnswer] = Future()
                self._flights[flight] = owned
                self.calls += 1
            else:
                self.shared_calls += 1
        if shared is not None:
            return shared.result()
        try:
            owned.set_result(self._invoke(request))
        # Whatever ends the call (KeyboardInterrupt too) reaches the threads waiting on it,
        # which would otherwise wait forever; the owner re-raises it from result() below.
        except BaseException as exc:  # noqa: BLE001
            owned.set_exception(exc)
        finally:
            with self._lock:
                del self._flights[flight]
        return owned.result()

    def _invoke(self, request: Mapping[str, Any]) -> RefreshAnswer:
        user_id, platform = str(request["userId"]), str(request["platform"])
        try:
            response = self._client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(request).encode(),
            )
        except botocore.exceptions.ClientError as exc:
            mapped = self._invoke_error(exc, user_id, platform)
            if mapped is None:
                raise
            raise mapped from exc
        if response.get("FunctionError"):
            raise RefreshFailedError(
                f"{self.function_name} failed ({response['FunctionError']}); its log has the "
                "cause (`deployer invoke` shows it). Retry in a few seconds.",
                user_id=user_id,
                platform=platform,
                failure="UNAVAILABLE",
                reason=None,
                retryable=True,
            )
        payload: object = None
        body = response.get("Payload")
        if body is not None:
            try:
                payload = json.loads(body.read())
            except ValueError:
                payload = None
        return interpret_answer(
            payload, user_id=user_id, platform=platform, function_name=self.function_name
        )

    def _invoke_error(
        self, exc: botocore.exceptions.ClientError, user_id: str, platform: str
    ) -> Optional[Exception]:
        """Lambda's refusals that are configuration or capacity, said as such; else None."""
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return ConfigurationError(
                f"The token API {self.function_name!r} does not exist in this account and "
                "region: check TokenApiFnArn against `deployer outputs --stage S --format env`."
            )
        if code == "AccessDeniedException":
            return ConfigurationError(
                f"Not allowed to invoke the token API {self.function_name!r}: attach the stack's "
                "reader policy (output TokenReaderPolicyArn) to this app's role."
            )
        if code == "TooManyRequestsException":
            return RefreshFailedError(
                f"Every instance of {self.function_name} was busy "
                "(token_api.reserved_concurrency): retry in a few seconds.",
                user_id=user_id,
                platform=platform,
                failure="THROTTLED",
                reason=None,
                retryable=True,
            )
        return None
