"""get_token's refresh on demand with fake clients: when it calls the token API and when not,
the request, the re-read, one call shared by concurrent threads, and each answer and Lambda
failure mapped to the reader's errors. The real token API behind Lambda's Invoke API is driven
end to end by the Rust suite (crates/deployer/tests/readers_refresh.rs).
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional, cast

import botocore.exceptions
import pytest

from oauth_token_reader import (
    ConfigurationError,
    NeedsReauthError,
    RefreshFailedError,
    TokenExpiredError,
    TokenNotFoundError,
    TokenReader,
)
from support import assert_same_secret, new_token

USER, PLATFORM = "alice", "tiktok"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuthApi-unit"
NOW = 1_900_000_000


class FakeTable:
    def __init__(self) -> None:
        self.item: Optional[dict[str, Any]] = None
        self.calls = 0

    def store(self, version: int, expires_at: int) -> str:
        token = new_token()
        self.item = {
            "userId": {"S": USER},
            "platform": {"S": PLATFORM},
            "accessToken": {"S": token},
            "expiresAt": {"N": str(expires_at)},
            "version": {"N": str(version)},
        }
        return token

    def get_item(self, **_params: Any) -> dict[str, Any]:
        self.calls += 1
        return {} if self.item is None else {"Item": dict(self.item)}


class FakeLambda:
    """Answers each invoke with ``answer(request)`` after ``delay`` seconds."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.function_names: list[str] = []
        self.delay = 0.0
        self.error: Optional[Exception] = None
        self.function_error: Optional[str] = None
        self.answer: Callable[[dict[str, Any]], object] = lambda _r: {
            "ok": True,
            "status": "active",
            "refreshed": True,
            "coalesced": False,
        }
        self._lock = threading.Lock()

    def invoke(self, **params: Any) -> Mapping[str, Any]:
        request = json.loads(params["Payload"])
        with self._lock:
            self.requests.append(request)
            self.function_names.append(params["FunctionName"])
        assert params["InvocationType"] == "RequestResponse"
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        body = io.BytesIO(json.dumps(self.answer(request)).encode())
        response: dict[str, Any] = {"StatusCode": 200, "Payload": body}
        if self.function_error is not None:
            response["FunctionError"] = self.function_error
        return response


def _reader(table: FakeTable, api: FakeLambda, *, with_api: bool = True) -> TokenReader:
    return TokenReader(
        "tokens-unit",
        dynamodb_client=cast(Any, table),
        kms_client=cast(Any, object()),
        token_api_function=FUNCTION if with_api else None,
        lambda_client=api,
        clock=lambda: float(NOW),
    )


def _client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "no"}}, "Invoke")


def test_a_valid_token_is_read_without_the_token_api() -> None:
    table, api = FakeTable(), FakeLambda()
    token = table.store(4, NOW + 3600)
    assert_same_secret(_reader(table, api).get_token(USER, PLATFORM, 600).access_token, token)
    assert api.requests == []


def test_a_token_too_close_to_expiry_is_refreshed_then_read_again() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(4, NOW + 30)
    fresh: list[str] = []

    def refreshed(_request: dict[str, Any]) -> object:
        fresh.append(table.store(5, NOW + 7200))
        return {"ok": True, "status": "active", "version": 5, "refreshed": True}

    api.answer = refreshed
    token = _reader(table, api).get_token(USER, PLATFORM, 120)
    assert_same_secret(token.access_token, fresh[0])
    assert token.version == 5
    assert api.requests == [
        {
            "action": "refresh",
            "userId": USER,
            "platform": PLATFORM,
            "force": False,
            "minValiditySeconds": 120,
            "seenVersion": 4,
        }
    ]
    assert api.function_names == [FUNCTION]
    assert table.calls == 2


def test_force_refresh_names_the_version_it_saw() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(7, NOW + 3600)
    fresh: list[str] = []

    def refreshed(_request: dict[str, Any]) -> object:
        fresh.append(table.store(8, NOW + 7200))
        return {"ok": True, "version": 8, "refreshed": True}

    api.answer = refreshed
    token = _reader(table, api).get_token(USER, PLATFORM, force_refresh=True)
    assert_same_secret(token.access_token, fresh[0])
    (request,) = api.requests
    assert (request["force"], request["seenVersion"], request["minValiditySeconds"]) == (
        True,
        7,
        1,
    )


def test_concurrent_forced_reads_share_one_call() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(7, NOW + 3600)
    api.delay = 0.2
    fresh: list[str] = []

    def refreshed(_request: dict[str, Any]) -> object:
        fresh.append(table.store(8, NOW + 7200))
        return {"ok": True, "version": 8, "refreshed": True}

    api.answer = refreshed
    reader = _reader(table, api)
    results: list[str] = []
    barrier = threading.Barrier(10)

    def read() -> None:
        barrier.wait()
        results.append(reader.get_token(USER, PLATFORM, force_refresh=True).access_token)

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(api.requests) == 1
    assert (reader.stats.token_api_calls, reader.stats.token_api_shared_calls) == (1, 9)
    assert len(results) == 10
    for value in results:
        assert_same_secret(value, fresh[0])


def test_a_token_still_short_after_the_refresh_is_refused() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(4, NOW + 30)

    def short(_request: dict[str, Any]) -> object:
        table.store(5, NOW + 60)
        return {"ok": True, "version": 5, "refreshed": True}

    api.answer = short
    with pytest.raises(TokenExpiredError):
        _reader(table, api).get_token(USER, PLATFORM, 600)
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("error", "expected", "check"),
    [
        ({"code": "NOT_FOUND", "message": "no item"}, TokenNotFoundError, None),
        ({"code": "NEEDS_REAUTH", "reason": "invalid_grant"}, NeedsReauthError, None),
        (
            {"code": "BUSY", "message": "held", "retryable": True},
            RefreshFailedError,
            lambda e: e.failure == "BUSY" and e.retryable,
        ),
        (
            {"code": "REFRESH_FAILED", "reason": "rejected", "retryable": False},
            RefreshFailedError,
            lambda e: e.reason == "rejected" and not e.retryable,
        ),
        (
            {"code": "UNAVAILABLE", "retryable": True},
            RefreshFailedError,
            lambda e: e.failure == "UNAVAILABLE",
        ),
        (
            {"code": "UNKNOWN_PLATFORM", "message": "configured are reddit"},
            ConfigurationError,
            None,
        ),
        ({"code": "BAD_REQUEST", "message": "unknown field"}, ConfigurationError, None),
    ],
)
def test_each_error_answer_is_the_readers_error_for_it(
    error: dict[str, Any], expected: type[Exception], check: Optional[Callable[[Any], bool]]
) -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(4, NOW + 3600)
    api.answer = lambda _r: {"ok": False, "userId": USER, "platform": PLATFORM, "error": error}
    with pytest.raises(expected) as raised:
        _reader(table, api).get_token(USER, PLATFORM, force_refresh=True)
    assert check is None or check(raised.value)


def test_lambda_failures_are_said_as_such() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(4, NOW + 3600)
    reader = _reader(table, api)
    api.function_error = "Unhandled"
    with pytest.raises(RefreshFailedError) as failed:
        reader.get_token(USER, PLATFORM, force_refresh=True)
    assert (failed.value.failure, failed.value.retryable) == ("UNAVAILABLE", True)
    api.function_error = None
    api.error = _client_error("TooManyRequestsException")
    with pytest.raises(RefreshFailedError) as throttled:
        reader.get_token(USER, PLATFORM, force_refresh=True)
    assert throttled.value.failure == "THROTTLED"
    api.error = _client_error("ResourceNotFoundException")
    with pytest.raises(ConfigurationError, match="TokenApiFnArn"):
        reader.get_token(USER, PLATFORM, force_refresh=True)
    api.error = _client_error("ServiceException")
    with pytest.raises(botocore.exceptions.ClientError):
        reader.get_token(USER, PLATFORM, force_refresh=True)


def test_without_the_token_api_nothing_changes_and_force_says_what_to_set() -> None:
    table, api = FakeTable(), FakeLambda()
    table.store(4, NOW + 30)
    reader = _reader(table, api, with_api=False)
    with pytest.raises(TokenExpiredError):
        reader.get_token(USER, PLATFORM, 120)
    with pytest.raises(ConfigurationError, match="TokenApiFnArn"):
        reader.get_token(USER, PLATFORM, force_refresh=True)
    assert api.requests == []


def test_from_env_reads_the_token_api_arn_else_its_name() -> None:
    base = {"TokensTableName": "t", "AWS_REGION": "us-east-1"}
    fake = cast(Any, object())
    clients = {"dynamodb_client": fake, "kms_client": fake, "lambda_client": FakeLambda()}
    both = TokenReader.from_env(
        {**base, "TokenApiFnArn": FUNCTION, "TokenApiFnName": "name"}, **clients
    )
    assert both._token_api is not None
    assert both._token_api.function_name == FUNCTION
    named = TokenReader.from_env({**base, "TokenApiFnName": "RefreshOAuthApi-unit"}, **clients)
    assert named._token_api is not None
    assert named._token_api.function_name == "RefreshOAuthApi-unit"
    assert TokenReader.from_env({**base, "TokenApiFnArn": " "}, **clients)._token_api is None


class FakeEvents:
    """An EventBridge client recording PutEvents entries; ``fail_with`` fails the next entry."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.fail_with: Optional[str] = None

    def put_events(self, **params: Any) -> Mapping[str, Any]:
        entries = params["Entries"]
        self.entries.extend(entries)
        if self.fail_with is not None:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": self.fail_with}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"event-{len(self.entries)}"}]}


def _event_reader(events: FakeEvents, bus: Optional[str] = "oauth-tokens-unit") -> TokenReader:
    return TokenReader(
        "tokens-unit",
        dynamodb_client=cast(Any, FakeTable()),
        kms_client=cast(Any, object()),
        event_bus_name=bus,
        events_client=events,
    )


def test_request_refresh_puts_one_event_naming_the_token_never_a_value() -> None:
    events = FakeEvents()
    reader = _event_reader(events)
    assert reader.request_refresh(USER, PLATFORM, force=True) == "event-1"
    assert events.entries == [
        {
            "EventBusName": "oauth-tokens-unit",
            "Source": "oauth-refresher.reader",
            "DetailType": "token.refresh-requested",
            "Detail": json.dumps({"userId": USER, "platform": PLATFORM, "force": True}),
        }
    ]
    reader.request_refresh("bob", "reddit")
    assert json.loads(events.entries[1]["Detail"])["force"] is False
    assert reader.stats.refresh_requests_sent == 2


def test_request_refresh_says_what_is_wrong() -> None:
    events = FakeEvents()
    with pytest.raises(ConfigurationError, match="EventBusName"):
        _event_reader(events, bus=None).request_refresh(USER, PLATFORM)
    reader = _event_reader(events)
    events.fail_with = "ThrottlingException"
    with pytest.raises(RefreshFailedError) as refused:
        reader.request_refresh(USER, PLATFORM)
    assert refused.value.retryable
    with pytest.raises(ValueError, match="'\\|'"):
        reader.request_refresh(USER, "a|b")
    with pytest.raises(TypeError, match="force"):
        reader.request_refresh(USER, PLATFORM, force=cast(Any, "yes"))
    assert reader.stats.refresh_requests_sent == 0
