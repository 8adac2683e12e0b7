"""The reader: one consistent GetItem, KMS for data keys it has not seen, then the pure checks.

All I/O lives here; what an item means is :mod:`oauth_token_reader.item`, and what an envelope
is, :mod:`oauth_token_reader.envelope`. The AWS clients are injectable, so tests and apps with
their own session, retry or endpoint settings pass theirs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

import boto3
import botocore.exceptions

from .cache import DataKeyCache
from .envelope import TOKENS_TABLE_CONTEXT_KEY, Envelope, open_envelope
from .errors import ConfigurationError, DecryptionError
from .item import (
    PROJECTED_ATTRIBUTES,
    StoredToken,
    Token,
    check_validity,
    expires_too_soon,
    interpret_item,
    is_reserved_key,
    require_token,
)
from .refresh import EventsClient, InvokeClient, RefreshEvents, TokenApi
from .token_api import refresh_request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

__all__ = [
    "DEFAULT_CACHE_MAX_AGE_SECONDS",
    "DEFAULT_CACHE_MAX_ENTRIES",
    "ReaderStats",
    "TokenReader",
]

# A writer uses one data key per run; a reader sees a handful of runs' keys at a time.
DEFAULT_CACHE_MAX_ENTRIES = 100
# Fifteen minutes (one schedule tick), as the TypeScript and Rust readers: a revoked kms:Decrypt
# takes effect on this reader within that time.
DEFAULT_CACHE_MAX_AGE_SECONDS = 900.0

TABLE_ENV = "TokensTableName"
KMS_KEY_ENV = "KmsKeyArn"
FUNCTION_ARN_ENV = "TokenApiFnArn"
FUNCTION_NAME_ENV = "TokenApiFnName"
EVENT_BUS_ENV = "EventBusName"
_ENV_HINT = "it comes from `deployer outputs --stage S --format env`"

# The data-key cache's key: the KMS key id Decrypt names, the encryptedKey bytes, and the
# encryption context's tokens table (None for v1, which Decrypt calls without a context).
_CacheKey = tuple[str, bytes, Optional[str]]


class ReaderStats:
    """Counters of the calls a reader made, for tests and metrics (reads are point-in-time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._get_item_calls = 0
        self._kms_decrypt_calls = 0
        self._token_api: Optional[TokenApi] = None
        self._events: Optional[RefreshEvents] = None

    @property
    def get_item_calls(self) -> int:
        """DynamoDB GetItem requests made (one per get_token that reached the table)."""
        with self._lock:
            return self._get_item_calls

    @property
    def kms_decrypt_calls(self) -> int:
        """KMS Decrypt requests made, failed ones included (cache misses only)."""
        with self._lock:
            return self._kms_decrypt_calls

    @property
    def token_api_calls(self) -> int:
        """Refresh requests sent to the token API."""
        return 0 if self._token_api is None else self._token_api.calls

    @property
    def token_api_shared_calls(self) -> int:
        """Refreshes that joined a token API call already under way for the same token."""
        return 0 if self._token_api is None else self._token_api.shared_calls

    @property
    def refresh_requests_sent(self) -> int:
        """``token.refresh-requested`` events put on the bus."""
        return 0 if self._events is None else self._events.sent

    def _count_get_item(self) -> None:
        with self._lock:
            self._get_item_calls += 1

    def _count_kms_decrypt(self) -> None:
        with self._lock:
            self._kms_decrypt_calls += 1

    def __repr__(self) -> str:
        return (
            f"ReaderStats(get_item_calls={self.get_item_calls}, "
            f"kms_decrypt_calls={self.kms_decrypt_calls})"
        )


class TokenReader:
    """Reads access tokens from a stage's tokens table (docs/token-store.md, "Reading").

    Thread-safe: one reader per process is the intended use, so its data-key cache is shared.
    """

    def __init__(
        self,
        table_name: str,
        kms_key_id: Optional[str] = None,
        *,
        dynamodb_client: Optional[DynamoDBClient] = None,
        kms_client: Optional[KMSClient] = None,
        token_api_function: Optional[str] = None,
        lambda_client: Optional[InvokeClient] = None,
        event_bus_name: Optional[str] = None,
        events_client: Optional[EventsClient] = None,
        cache_max_entries: int = DEFAULT_CACHE_MAX_ENTRIES,
        cache_max_age_seconds: float = DEFAULT_CACHE_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not table_name:
            raise ConfigurationError(f"table_name is empty: pass the stage's {TABLE_ENV}")
        self._table_name = table_name
        # An empty key id means "not pinned", like an unset KmsKeyArn.
        self._kms_key_id = kms_key_id or None
        self._clock = clock
        self._cache: DataKeyCache[_CacheKey] = DataKeyCache(
            max_entries=cache_max_entries, max_age_seconds=cache_max_age_seconds, clock=clock
        )
        self.stats = ReaderStats()
        wants_lambda = bool(token_api_function) and lambda_client is None
        wants_events = bool(event_bus_name) and events_client is None
        if dynamodb_client is None or kms_client is None or wants_lambda or wants_events:
            session = _session(os.environ)
            dynamodb_client = dynamodb_client or _dynamodb_client(session, os.environ)
            kms_client = kms_client or _kms_client(session, os.environ)
            if wants_lambda:
                lambda_client = _lambda_client(session, os.environ)
            if wants_events:
                events_client = _events_client(session, os.environ)
        self._dynamodb = dynamodb_client
        self._kms = kms_client
        # The stage's token API: refreshes on demand. None: a token too close to expiry is
        # refused, and force_refresh says what to configure.
        self._token_api = (
            TokenApi(token_api_function, lambda_client)
            if token_api_function and lambda_client is not None
            else None
        )
        self.stats._token_api = self._token_api
        self._events = (
            RefreshEvents(event_bus_name, events_client)
            if event_bus_name and events_client is not None
            else None
        )
        self.stats._events = self._events

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **options: Any) -> TokenReader:
        """A reader configured the way ``deployer outputs --format env`` prints a stage.

        ``TokensTableName`` (required), ``KmsKeyArn`` (optional; when set, KMS Decrypt is
        pinned to it), ``TokenApiFnArn`` or ``TokenApiFnName`` (optional; the token API that
        refreshes on demand) and ``EventBusName`` (optional; for :meth:`request_refresh`) come
        from ``env``; so do the standard AWS variables (region,
        endpoint, credentials), else boto3's default chain applies (profile, container or
        instance role). ``options`` go to the constructor and win over what ``env`` says.
        """
        table_name = _env_value(env, TABLE_ENV)
        if table_name is None:
            raise ConfigurationError(
                f"{TABLE_ENV} is not set: it names the stage's tokens table, and {_ENV_HINT}."
            )
        options.setdefault("kms_key_id", _env_value(env, KMS_KEY_ENV))
        options.setdefault(
            "token_api_function",
            _env_value(env, FUNCTION_ARN_ENV) or _env_value(env, FUNCTION_NAME_ENV),
        )
        options.setdefault("event_bus_name", _env_value(env, EVENT_BUS_ENV))
        needs = {
            "dynamodb_client": _dynamodb_client,
            "kms_client": _kms_client,
            **({"lambda_client": _lambda_client} if options["token_api_function"] else {}),
            **({"events_client": _events_client} if options["event_bus_name"] else {}),
        }
        missing = {name: make for name, make in needs.items() if options.get(name) is None}
        if missing:
            session = _session(env)
            for name, make in missing.items():
                options[name] = make(session, env)
        return cls(table_name, **options)

    @property
    def table_name(self) -> str:
        return self._table_name

    def __repr__(self) -> str:
        return f"TokenReader(table_name={self._table_name!r}, kms_key_id={self._kms_key_id!r})"

    def clear_cache(self) -> None:
        """Drops every cached data key; the next read of each key asks KMS again."""
        self._cache.clear()

    def get_token(
        self,
        user_id: str,
        platform: str,
        min_validity_seconds: float = 0,
        *,
        force_refresh: bool = False,
    ) -> Token:
        """The current access token of ``(user_id, platform)``.

        With the token API configured, a token valid for less than ``min_validity_seconds``, or
        any with ``force_refresh`` (after the provider answered 401 to it), is refreshed first
        (one Lambda invocation, shared by the threads asking for the same refresh) and read
        again. Without it, such a token is refused (:class:`TokenExpiredError`) and
        ``force_refresh`` is a :class:`ConfigurationError` naming what to set.

        Raises a :class:`~oauth_token_reader.TokenReaderError` subclass for every outcome the
        contract names (not found, needs re-auth, inactive, malformed, decryption, expired,
        refresh failed). AWS failures that are not about this item (throttling, KMS's own
        failures, network) propagate as botocore exceptions after botocore's own retries.
        """
        _check_arguments(user_id, platform, min_validity_seconds)
        if not isinstance(force_refresh, bool):
            raise TypeError("force_refresh must be True or False")
        stored = self._read(user_id, platform)
        if force_refresh or (
            self._token_api is not None
            and expires_too_soon(stored.expires_at, min_validity_seconds, self._clock())
        ):
            self._refresh(
                refresh_request(
                    user_id,
                    platform,
                    force=force_refresh,
                    min_validity_seconds=min_validity_seconds,
                    seen_version=stored.version,
                )
            )
            stored = self._read(user_id, platform)
        # Before opening: an expired token is refused without a KMS call.
        check_validity(
            stored.expires_at,
            min_validity_seconds=min_validity_seconds,
            now=self._clock(),
            user_id=user_id,
            platform=platform,
        )
        access_token = stored.access_token
        if isinstance(access_token, Envelope):
            access_token = self._open(access_token, user_id, platform)
        require_token(access_token, user_id=user_id, platform=platform)
        return Token(
            access_token=access_token,
            expires_at=stored.expires_at,
            scope=stored.scope,
            status=stored.status,
            version=stored.version,
        )

    def request_refresh(self, user_id: str, platform: str, *, force: bool = False) -> str:
        """Asks for a refresh without waiting for it; the EventBridge event id.

        A ``token.refresh-requested`` event on the stage's bus, which its rule delivers to the
        token API (retried, then the DLQ). For a job that will need the token later: read it
        with :meth:`get_token` when needed.
        """
        _check_arguments(user_id, platform, 0)
        if not isinstance(force, bool):
            raise TypeError("force must be True or False")
        if self._events is None:
            raise ConfigurationError(
                "request_refresh needs the stage's event bus: pass event_bus_name, or set "
                f"{EVENT_BUS_ENV} ({_ENV_HINT})."
            )
        return self._events.request(user_id, platform, force=force)

    def _read(self, user_id: str, platform: str) -> StoredToken:
        # The run lock is never a token: no need to ask the table.
        item = None if is_reserved_key(user_id, platform) else self._get_item(user_id, platform)
        return interpret_item(item, user_id=user_id, platform=platform)

    def _refresh(self, request: dict[str, Any]) -> None:
        if self._token_api is None:
            raise ConfigurationError(
                "force_refresh needs the token API: pass token_api_function, or set "
                f"{FUNCTION_ARN_ENV} ({_ENV_HINT}; the stage needs `token_api` enabled)."
            )
        self._token_api.refresh(request)

    def _get_item(self, user_id: str, platform: str) -> Optional[Mapping[str, Any]]:
        """One strongly consistent GetItem: a token refreshed a moment ago is the one returned."""
        names = {f"#a{i}": name for i, name in enumerate(PROJECTED_ATTRIBUTES)}
        self.stats._count_get_item()
        try:
            response = self._dynamodb.get_item(
                TableName=self._table_name,
                Key={"userId": {"S": user_id}, "platform": {"S": platform}},
                ConsistentRead=True,
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
            )
        except botocore.exceptions.ClientError as exc:
            configuration = _dynamodb_error(exc, self._table_name)
            if configuration is None:
                raise
            raise configuration from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise _no_credentials() from exc
        return response.get("Item")

    def _open(self, envelope: Envelope, user_id: str, platform: str) -> str:
        """The envelope's plaintext, with the data key from the cache or from KMS.

        A v2 data key was generated under the encryption context ``{"tokensTable": <table>}``,
        so it is decrypted with this reader's table in that context (an envelope sealed for
        another stage's table fails at KMS); a v1 data key, with no context.
        """
        key_id = self._kms_key_id or envelope.key_id
        context_table = self._table_name if envelope.uses_table_context else None

        def decrypt() -> bytes:
            return self._decrypt_data_key(
                key_id, envelope.encrypted_key, context_table, user_id, platform
            )

        data_key = self._cache.get_or_load((key_id, envelope.encrypted_key, context_table), decrypt)
        return open_envelope(envelope, data_key, user_id=user_id, platform=platform)

    def _decrypt_data_key(
        self,
        key_id: str,
        blob: bytes,
        context_table: Optional[str],
        user_id: str,
        platform: str,
    ) -> bytes:
        """KMS Decrypt naming the key, so a blob of another key fails at KMS.

        A refusal is a :class:`DecryptionError`; a failure that says "try again" (throttling,
        KMS's own errors, a network failure) propagates as botocore raised it.
        """
        self.stats._count_kms_decrypt()
        try:
            if context_table is None:
                response = self._kms.decrypt(CiphertextBlob=blob, KeyId=key_id)
            else:
                response = self._kms.decrypt(
                    CiphertextBlob=blob,
                    KeyId=key_id,
                    EncryptionContext={TOKENS_TABLE_CONTEXT_KEY: context_table},
                )
        except botocore.exceptions.ClientError as exc:
            if _is_transient_kms_error(exc):
                raise
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            raise DecryptionError(
                _kms_message(code, key_id, context_table, user_id, platform),
                user_id=user_id,
                platform=platform,
                kms_error_code=code,
            ) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise _no_credentials() from exc
        # Transport failures (EndpointConnectionError, timeouts...) are not ClientErrors: they
        # propagate unchanged.
        return response["Plaintext"]


def _check_arguments(user_id: object, platform: object, min_validity_seconds: object) -> None:
    """Programming errors are ValueError/TypeError, not token outcomes.

    Typed ``object``: the checks are for callers without a type checker.
    """
    if not isinstance(user_id, str) or not isinstance(platform, str):
        raise TypeError("user_id and platform must be strings")
    if not user_id or not platform:
        raise ValueError("user_id and platform must not be empty")
    if "|" in platform:
        raise ValueError("platform names never contain '|' (docs/token-store.md)")
    if isinstance(min_validity_seconds, bool) or not isinstance(min_validity_seconds, (int, float)):
        raise TypeError("min_validity_seconds must be a number of seconds")
    if not min_validity_seconds >= 0:  # also refuses NaN
        raise ValueError("min_validity_seconds must be 0 or more")


def _env_value(env: Mapping[str, str], name: str) -> Optional[str]:
    """A variable's value, with unset, empty and blank all meaning "not set"."""
    value = env.get(name, "").strip()
    return value or None


def _session(env: Mapping[str, str]) -> boto3.session.Session:
    """A private boto3 session: boto3's default session is not safe to share across threads.

    Region: ``AWS_REGION`` first (what Lambda, ECS and the contract use; botocore itself only
    reads ``AWS_DEFAULT_REGION``), then ``AWS_DEFAULT_REGION``. Credentials from ``env`` when it
    has a key pair (the same precedence boto3 gives them in os.environ), else the default chain.
    """
    region = _env_value(env, "AWS_REGION") or _env_value(env, "AWS_DEFAULT_REGION")
    key_id = _env_value(env, "AWS_ACCESS_KEY_ID")
    secret = _env_value(env, "AWS_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        missing = "AWS_SECRET_ACCESS_KEY" if key_id else "AWS_ACCESS_KEY_ID"
        raise ConfigurationError(f"{missing} is not set while its pair is: set both or neither")
    token = _env_value(env, "AWS_SESSION_TOKEN") if key_id else None
    # An explicit profile would hide the key pair from boto3; the pair wins, as in boto3.
    profile = None if key_id else _env_value(env, "AWS_PROFILE")
    try:
        return boto3.session.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=region,
            profile_name=profile,
        )
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigurationError(f"AWS_PROFILE names a profile that does not exist: {exc}") from exc


def _endpoint(env: Mapping[str, str], service: str) -> Optional[str]:
    """``AWS_ENDPOINT_URL_<SERVICE>``, then ``AWS_ENDPOINT_URL`` (as botocore does), or None."""
    if (_env_value(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or "").lower() == "true":
        return None
    return _env_value(env, f"AWS_ENDPOINT_URL_{service.upper()}") or _env_value(
        env, "AWS_ENDPOINT_URL"
    )


def _client(session: boto3.session.Session, env: Mapping[str, str], service: str) -> Any:
    """A low-level client of ``service``, its endpoint from ``env``; no region said as such."""
    try:
        return session.client(service, endpoint_url=_endpoint(env, service))  # type: ignore[call-overload]
    except botocore.exceptions.NoRegionError as exc:
        raise _no_region() from exc


def _dynamodb_client(session: boto3.session.Session, env: Mapping[str, str]) -> DynamoDBClient:
    client: DynamoDBClient = _client(session, env, "dynamodb")
    return client


def _kms_client(session: boto3.session.Session, env: Mapping[str, str]) -> KMSClient:
    client: KMSClient = _client(session, env, "kms")
    return client


def _lambda_client(session: boto3.session.Session, env: Mapping[str, str]) -> InvokeClient:
    client: InvokeClient = _client(session, env, "lambda")
    return client


def _events_client(session: boto3.session.Session, env: Mapping[str, str]) -> EventsClient:
    client: EventsClient = _client(session, env, "events")
    return client


def _no_region() -> ConfigurationError:
    return ConfigurationError(
        "No AWS region: set AWS_REGION to the stage's region (or configure a profile)."
    )


def _no_credentials() -> ConfigurationError:
    return ConfigurationError(
        "No AWS credentials: run with a role that has the stack's reader policy "
        "(output TokenReaderPolicyArn), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."
    )


def _dynamodb_error(
    exc: botocore.exceptions.ClientError, table_name: str
) -> Optional[ConfigurationError]:
    """GetItem failures that are configuration, not the item: wrong table, region or policy."""
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException":
        return ConfigurationError(
            f"Table {table_name!r} does not exist in this region/account: check {TABLE_ENV} and "
            f"AWS_REGION against the stage ({_ENV_HINT})."
        )
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return ConfigurationError(
            f"DynamoDB refused GetItem on {table_name!r} ({code}): attach the stack's reader "
            "policy (output TokenReaderPolicyArn) to this app's role."
        )
    return None


# KMS errors that say "try again later", not "no": passed on as they are, like the other readers.
TRANSIENT_KMS_ERRORS = frozenset(
    {
        "ThrottlingException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    }
)


def _is_transient_kms_error(exc: botocore.exceptions.ClientError) -> bool:
    """A KMS failure that is not a refusal: a transient code, or a server fault (HTTP 5xx)."""
    code = exc.response.get("Error", {}).get("Code", "")
    if code in TRANSIENT_KMS_ERRORS:
        return True
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return isinstance(status, int) and status >= 500


_KMS_ADVICE = {
    "AccessDeniedException": "attach the stack's reader policy (output TokenReaderPolicyArn), "
    "which grants kms:Decrypt on the stage's key, to this app's role",
    "IncorrectKeyException": "the data key was sealed under another KMS key: check KmsKeyArn "
    "against the stage, or the item was copied from another stage",
    "InvalidCiphertextException": "encryptedKey is not a data key of this key (another stage or "
    "account, or changed); the refresher rewrites it on its next refresh",
    "DisabledException": "the stage's KMS key is disabled; enable it",
    "KMSInvalidStateException": "the stage's KMS key is pending deletion or unavailable",
    "NotFoundException": "the KMS key does not exist here: check KmsKeyArn and AWS_REGION",
}


def _kms_message(
    code: str, key_id: str, context_table: Optional[str], user_id: str, platform: str
) -> str:
    advice = _KMS_ADVICE.get(code, "check the key, the policy and the item")
    context = ""
    if context_table is not None:
        context = f" in encryption context tokensTable={context_table!r} (envelope v2)"
        if code == "InvalidCiphertextException":
            advice += (
                f", or the envelope was sealed for another tokens table than {context_table!r} "
                f"(check {TABLE_ENV} against the stage, or the item was copied between stages)"
            )
    return (
        f"KMS refused to decrypt the data key of ({user_id!r}, {platform!r}) with key "
        f"{key_id}{context} ({code}): {advice}."
    )
