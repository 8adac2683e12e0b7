"""examples/get_token.py and tests/interop_read.py, run against the moto server."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable

import pytest

from oauth_token_reader import TokenReader
from support import (
    EXAMPLE_PATH,
    INTEROP_PATH,
    TestWriter,
    assert_not_shown,
    assert_same_secret,
    new_token,
    new_user,
)

pytestmark = pytest.mark.integration


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("get_token_example", EXAMPLE_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _CapturingSend:
    """Stands in for the HTTP call: keeps the request, answers 200."""

    def __init__(self) -> None:
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request) -> int:
        self.requests.append(request)
        return 200


def test_the_example_sends_the_token_as_a_bearer_header(
    writer: TestWriter, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    user, token = new_user(), new_token()
    writer.put_envelope(
        user, "schwab", token, writer.new_data_key(), expires_at=int(time.time()) + 3600
    )
    main: Callable[..., int] = _load_example().main
    send = _CapturingSend()

    status = main([user, "https://api.schwab.example/v1/accounts"], env=env, send=send)

    assert status == 0
    (request,) = send.requests
    assert request.full_url == "https://api.schwab.example/v1/accounts"
    assert_same_secret(request.get_header("Authorization"), f"Bearer {token}")
    output = capsys.readouterr()
    assert_not_shown(token, output.out, output.err)
    assert "HTTP 200" in output.out


def test_the_example_asks_for_60_seconds_of_validity(
    writer: TestWriter, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    user = new_user()
    writer.put_plaintext(user, "schwab", new_token(), expires_at=int(time.time()) + 30)
    send = _CapturingSend()
    main: Callable[..., int] = _load_example().main
    assert main([user, "https://api.schwab.example/v1/accounts"], env=env, send=send) == 4
    assert send.requests == []
    assert "EXPIRED" in capsys.readouterr().err


class _RotatingTokenApi:
    """The token API as the example meets it: each refresh stores a new token in moto."""

    def __init__(self, writer: TestWriter, user: str) -> None:
        self.writer, self.user = writer, user
        self.calls = 0
        self.tokens: list[str] = []

    def invoke(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        assert json.loads(params["Payload"])["force"] is True
        token = new_token()
        self.tokens.append(token)
        self.writer.put_envelope(
            self.user, "schwab", token, self.writer.new_data_key(), expires_at=_in(7200)
        )
        answer = {"ok": True, "status": "active", "refreshed": True, "coalesced": False}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


def _in(seconds: int) -> int:
    return int(time.time()) + seconds


@pytest.mark.parametrize("statuses", [[401, 200], [401, 401]])
def test_after_a_401_the_example_refreshes_once_and_retries_once(
    writer: TestWriter, env: dict[str, str], statuses: list[int]
) -> None:
    user, first = new_user(), new_token()
    writer.put_envelope(user, "schwab", first, writer.new_data_key(), expires_at=_in(3600))
    api = _RotatingTokenApi(writer, user)
    reader = TokenReader.from_env(env, token_api_function="RefreshOAuthApi-test", lambda_client=api)
    answers = iter(statuses)
    sent: list[urllib.request.Request] = []

    def send(request: urllib.request.Request) -> int:
        sent.append(request)
        return next(answers)

    call_provider: Callable[..., int] = _load_example().call_provider
    status = call_provider(reader, user, "https://api.schwab.example/v1/accounts", send)

    # A second 401 is returned, never looped on: two calls, one refresh, either way.
    assert status == statuses[-1]
    assert (len(sent), api.calls) == (2, 1)
    assert_same_secret(sent[0].get_header("Authorization"), f"Bearer {first}")
    assert_same_secret(sent[1].get_header("Authorization"), f"Bearer {api.tokens[0]}")


def test_the_example_refuses_plain_http() -> None:
    send: Callable[[urllib.request.Request], int] = _load_example().send_with_urllib
    with pytest.raises(ValueError, match="https"):
        send(urllib.request.Request("http://api.schwab.example/"))


def _run_interop(env: dict[str, str], requests: Sequence[dict[str, Any]]) -> Any:
    """Runs interop_read.py as the Rust suite does: env configured, JSON lines in and out."""
    child_env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, str(INTEROP_PATH)],
        input="".join(json.dumps(request) + "\n" for request in requests),
        capture_output=True,
        text=True,
        env=child_env,
        timeout=60,
        check=False,
    )


def test_interop_read_answers_each_key(writer: TestWriter, env: dict[str, str]) -> None:
    sealed, plain, reauth, missing = new_user(), new_user(), new_user(), new_user()
    sealed_token, plain_token = new_token(), new_token()
    expires_at = int(time.time()) + 3600
    data_key = writer.new_data_key()
    writer.put_envelope(
        sealed, "tiktok", sealed_token, data_key, expires_at=expires_at, version=2, scope="a b"
    )
    writer.put_plaintext(plain, "reddit", plain_token, status=None, version=None)
    writer.put_envelope(reauth, "tiktok", new_token(), data_key, status="needs_reauth")
    requests: list[dict[str, Any]] = [
        {"userId": sealed, "platform": "tiktok"},
        {"userId": plain, "platform": "reddit"},
        {"userId": reauth, "platform": "tiktok"},
        {"userId": missing, "platform": "tiktok"},
        {"userId": sealed, "platform": "tiktok", "minValiditySeconds": 7200},
        {"userId": sealed, "platform": "tiktok"},
    ]

    result = _run_interop(env, requests)

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    sha = hashlib.sha256
    assert lines == [
        {
            "userId": sealed,
            "platform": "tiktok",
            "ok": True,
            "status": "active",
            "version": 2,
            "expiresAt": expires_at,
            "scope": "a b",
            "accessTokenSha256": sha(sealed_token.encode()).hexdigest(),
        },
        {
            "userId": plain,
            "platform": "reddit",
            "ok": True,
            "status": "active",
            "version": 0,
            "expiresAt": None,
            "scope": None,
            "accessTokenSha256": sha(plain_token.encode()).hexdigest(),
        },
        {"userId": reauth, "platform": "tiktok", "ok": False, "code": "NEEDS_REAUTH"},
        {"userId": missing, "platform": "tiktok", "ok": False, "code": "NOT_FOUND"},
        {"userId": sealed, "platform": "tiktok", "ok": False, "code": "EXPIRED"},
        lines[0],
        {"kmsDecryptCalls": 1},
    ]
    for token in (sealed_token, plain_token):
        assert_not_shown(token, result.stdout, result.stderr)


def test_interop_read_without_configuration(env: dict[str, str]) -> None:
    result = _run_interop({**env, "TokensTableName": ""}, [])
    assert result.returncode == 2
    assert "TokensTableName" in result.stderr


def test_interop_read_refuses_a_bad_line(env: dict[str, str]) -> None:
    result = _run_interop(env, [{"user": "x"}])
    assert result.returncode == 2
    assert "line 1" in result.stderr
