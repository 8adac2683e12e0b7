"""TokenReader with fake AWS clients: the calls it makes, configuration, errors, the cache."""

from __future__ import annotations

import secrets
from typing import Any, Optional, cast

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from oauth_token_reader import (
    ConfigurationError,
    DecryptionError,
    TokenExpiredError,
    TokenNotFoundError,
    TokenReader,
)
from support import DataKey as SupportDataKey
from support import assert_same_secret, new_token, seal

USER, PLATFORM = "user-1", "schwab"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/envelope-key"


class FakeTable:
    """A DynamoDB client with GetItem only: a Query or Scan would fail with AttributeError."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.error: Optional[Exception] = None

    def put(self, user_id: str, platform: str, **attributes: Any) -> None:
        self.items[(user_id, platform)] = {
            "userId": {"S": user_id},
            "platform": {"S": platform},
            **attributes,
        }

    def get_item(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.error is not None:
            raise self.error
        key = (params["Key"]["userId"]["S"], params["Key"]["platform"]["S"])
        item = self.items.get(key)
        return {} if item is None else {"Item": item}


class FakeKms:
    """KMS Decrypt over a dict of blob -> data key; records each call's KeyId and context."""

    def __init__(self) -> None:
        self.keys: dict[bytes, bytes] = {}
        self.key_ids: list[str] = []
        self.contexts: list[Optional[dict[str, str]]] = []
        self.error_code: Optional[str] = None
        self.error: Optional[Exception] = None

    def new_data_key(self, key_id: str = KEY_ARN) -> SupportDataKey:
        data_key = SupportDataKey(secrets.token_bytes(32), secrets.token_bytes(48), key_id)
        self.keys[data_key.blob] = data_key.plaintext
        return data_key

    def decrypt(
        self,
        *,
        CiphertextBlob: bytes,  # noqa: N803
        KeyId: str,  # noqa: N803
        EncryptionContext: Optional[dict[str, str]] = None,  # noqa: N803
    ) -> dict[str, Any]:
        self.key_ids.append(KeyId)
        self.contexts.append(EncryptionContext)
        if self.error is not None:
            raise self.error
        if self.error_code is not None:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": self.error_code, "Message": "no"}}, "Decrypt"
            )
        return {"Plaintext": self.keys[CiphertextBlob], "KeyId": KeyId}


@pytest.fixture
def table() -> FakeTable:
    return FakeTable()


@pytest.fixture
def kms() -> FakeKms:
    return FakeKms()


def _reader(table: FakeTable, kms: FakeKms, **options: Any) -> TokenReader:
    return TokenReader(
        "tokens-unit", dynamodb_client=cast(Any, table), kms_client=cast(Any, kms), **options
    )


def _put_sealed(
    table: FakeTable, data_key: SupportDataKey, user_id: str = USER, *, version: int = 1
) -> str:
    token = new_token()
    sealed = seal(data_key, token, user_id, PLATFORM, version=version)
    table.put(user_id, PLATFORM, accessToken=sealed)
    return token


def test_one_consistent_get_item_of_the_key(table: FakeTable, kms: FakeKms) -> None:
    token = new_token()
    table.put(USER, PLATFORM, accessToken={"S": token})
    reader = _reader(table, kms)
    assert_same_secret(reader.get_token(USER, PLATFORM).access_token, token)
    (call,) = table.calls
    assert call["TableName"] == "tokens-unit"
    assert call["Key"] == {"userId": {"S": USER}, "platform": {"S": PLATFORM}}
    assert call["ConsistentRead"] is True
    projected = {
        call["ExpressionAttributeNames"][name] for name in call["ProjectionExpression"].split(", ")
    }
    assert projected == {"userId", "accessToken", "expiresAt", "scope", "status", "version"}
    assert reader.stats.get_item_calls == 1
    assert kms.key_ids == []


def test_the_run_lock_is_not_found_without_a_request(table: FakeTable, kms: FakeKms) -> None:
    reader = _reader(table, kms)
    with pytest.raises(TokenNotFoundError):
        reader.get_token("cron", "refresh-oauth")
    assert table.calls == []


def test_decrypt_uses_the_envelope_key_id_when_not_pinned(table: FakeTable, kms: FakeKms) -> None:
    token = _put_sealed(table, kms.new_data_key())
    assert_same_secret(_reader(table, kms).get_token(USER, PLATFORM).access_token, token)
    assert kms.key_ids == [KEY_ARN]


def test_decrypt_is_pinned_to_the_configured_key(table: FakeTable, kms: FakeKms) -> None:
    _put_sealed(table, kms.new_data_key())
    pinned = "arn:aws:kms:us-east-1:123456789012:key/stage-key"
    _reader(table, kms, kms_key_id=pinned).get_token(USER, PLATFORM)
    assert kms.key_ids == [pinned]


def test_steady_reads_make_one_kms_call_per_data_key(table: FakeTable, kms: FakeKms) -> None:
    first, second = kms.new_data_key(), kms.new_data_key()
    for index in range(10):
        _put_sealed(table, first if index % 2 else second, user_id=f"user-{index}")
    reader = _reader(table, kms)
    for _ in range(5):
        for index in range(10):
            reader.get_token(f"user-{index}", PLATFORM)
    assert reader.stats.kms_decrypt_calls == 2
    assert reader.stats.get_item_calls == 50
    reader.clear_cache()
    reader.get_token("user-0", PLATFORM)
    assert reader.stats.kms_decrypt_calls == 3


def test_v2_decrypts_in_the_tables_context_and_v1_in_none(table: FakeTable, kms: FakeKms) -> None:
    data_key = kms.new_data_key()
    token_v1 = _put_sealed(table, data_key, "user-v1", version=1)
    token_v2 = _put_sealed(table, data_key, "user-v2", version=2)
    reader = _reader(table, kms)
    assert_same_secret(reader.get_token("user-v2", PLATFORM).access_token, token_v2)
    assert_same_secret(reader.get_token("user-v1", PLATFORM).access_token, token_v1)
    assert kms.contexts == [{"tokensTable": "tokens-unit"}, None]
    # Same key id and encryptedKey, different context: two cache entries, each reused.
    for _ in range(3):
        reader.get_token("user-v1", PLATFORM)
        reader.get_token("user-v2", PLATFORM)
    assert reader.stats.kms_decrypt_calls == 2


def test_v2_refusal_names_the_context(table: FakeTable, kms: FakeKms) -> None:
    _put_sealed(table, kms.new_data_key(), version=2)
    kms.error_code = "InvalidCiphertextException"
    with pytest.raises(DecryptionError) as caught:
        _reader(table, kms).get_token(USER, PLATFORM)
    assert caught.value.kms_error_code == "InvalidCiphertextException"
    assert "tokensTable='tokens-unit'" in str(caught.value)
    assert "another tokens table" in str(caught.value)


@pytest.mark.parametrize(
    "code",
    ["AccessDeniedException", "IncorrectKeyException", "InvalidCiphertextException"],
)
def test_a_kms_refusal_is_a_decryption_error_with_its_code(
    table: FakeTable, kms: FakeKms, code: str
) -> None:
    _put_sealed(table, kms.new_data_key())
    kms.error_code = code
    reader = _reader(table, kms)
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(USER, PLATFORM)
    assert caught.value.kms_error_code == code
    assert code in str(caught.value)
    assert isinstance(caught.value.__cause__, botocore.exceptions.ClientError)
    # Not cached: once KMS agrees, the same reader reads.
    kms.error_code = None
    reader.get_token(USER, PLATFORM)
    assert reader.stats.kms_decrypt_calls == 2


def _stubbed_kms() -> tuple[Any, Stubber]:
    """A real botocore KMS client whose responses come from a Stubber (no network)."""
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("kms")
    return client, Stubber(client)


def _decrypt_params(data_key: SupportDataKey, version: int) -> dict[str, Any]:
    params: dict[str, Any] = {"CiphertextBlob": data_key.blob, "KeyId": KEY_ARN}
    if version == 2:
        params["EncryptionContext"] = {"tokensTable": "tokens-unit"}
    return params


RETRYABLE_KMS_ERRORS = [
    ("ThrottlingException", 400),
    ("KMSInternalException", 500),
    ("DependencyTimeoutException", 503),
    ("KeyUnavailableException", 500),
    ("InternalFailure", 500),  # any server fault is not a refusal
]
KMS_REFUSALS = [
    ("AccessDeniedException", 400),
    ("InvalidCiphertextException", 400),
    ("IncorrectKeyException", 400),
    ("DisabledException", 400),
    ("KMSInvalidStateException", 400),
    ("NotFoundException", 400),
    ("InvalidKeyUsageException", 400),
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("code", "status"), RETRYABLE_KMS_ERRORS)
def test_a_retryable_kms_error_propagates_as_the_botocore_error(
    table: FakeTable, code: str, status: int, version: int
) -> None:
    data_key = FakeKms().new_data_key()
    token = _put_sealed(table, data_key, version=version)
    client, stubber = _stubbed_kms()
    params = _decrypt_params(data_key, version)
    stubber.add_client_error(
        "decrypt", service_error_code=code, http_status_code=status, expected_params=params
    )
    stubber.add_response(
        "decrypt", {"Plaintext": data_key.plaintext, "KeyId": KEY_ARN}, expected_params=params
    )
    reader = _reader(table, cast(Any, client))
    with stubber:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            reader.get_token(USER, PLATFORM)
        assert not isinstance(caught.value, DecryptionError)
        assert caught.value.response["Error"]["Code"] == code
        # Not cached: the next read asks KMS again and reads.
        assert_same_secret(reader.get_token(USER, PLATFORM).access_token, token)
    stubber.assert_no_pending_responses()
    assert reader.stats.kms_decrypt_calls == 2


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("code", "status"), KMS_REFUSALS)
def test_a_kms_refusal_from_botocore_is_a_decryption_error(
    table: FakeTable, code: str, status: int, version: int
) -> None:
    data_key = FakeKms().new_data_key()
    _put_sealed(table, data_key, version=version)
    client, stubber = _stubbed_kms()
    stubber.add_client_error(
        "decrypt",
        service_error_code=code,
        http_status_code=status,
        expected_params=_decrypt_params(data_key, version),
    )
    with stubber, pytest.raises(DecryptionError) as caught:
        _reader(table, cast(Any, client)).get_token(USER, PLATFORM)
    assert caught.value.kms_error_code == code
    assert isinstance(caught.value.__cause__, botocore.exceptions.ClientError)


@pytest.mark.parametrize(
    "error",
    [
        botocore.exceptions.EndpointConnectionError(endpoint_url="https://kms.example"),
        botocore.exceptions.ConnectTimeoutError(endpoint_url="https://kms.example"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="https://kms.example"),
        botocore.exceptions.ConnectionClosedError(endpoint_url="https://kms.example"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_transport_failure_propagates_as_the_botocore_error(
    table: FakeTable, kms: FakeKms, error: Exception
) -> None:
    token = _put_sealed(table, kms.new_data_key(), version=2)
    kms.error = error
    reader = _reader(table, kms)
    with pytest.raises(type(error)) as caught:
        reader.get_token(USER, PLATFORM)
    assert caught.value is error
    kms.error = None
    assert_same_secret(reader.get_token(USER, PLATFORM).access_token, token)


def test_access_denied_points_at_the_reader_policy(table: FakeTable, kms: FakeKms) -> None:
    _put_sealed(table, kms.new_data_key())
    kms.error_code = "AccessDeniedException"
    with pytest.raises(DecryptionError, match="TokenReaderPolicyArn"):
        _reader(table, kms).get_token(USER, PLATFORM)


def test_a_missing_table_is_a_configuration_error(table: FakeTable, kms: FakeKms) -> None:
    table.error = botocore.exceptions.ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "GetItem"
    )
    with pytest.raises(ConfigurationError, match="TokensTableName"):
        _reader(table, kms).get_token(USER, PLATFORM)


def test_get_item_access_denied_points_at_the_reader_policy(table: FakeTable, kms: FakeKms) -> None:
    table.error = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetItem"
    )
    with pytest.raises(ConfigurationError, match="TokenReaderPolicyArn"):
        _reader(table, kms).get_token(USER, PLATFORM)


def test_throttling_propagates_as_the_botocore_error(table: FakeTable, kms: FakeKms) -> None:
    table.error = botocore.exceptions.ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
        "GetItem",
    )
    with pytest.raises(botocore.exceptions.ClientError):
        _reader(table, kms).get_token(USER, PLATFORM)


def test_no_credentials_is_a_configuration_error(table: FakeTable, kms: FakeKms) -> None:
    table.error = botocore.exceptions.NoCredentialsError()
    with pytest.raises(ConfigurationError, match="credentials"):
        _reader(table, kms).get_token(USER, PLATFORM)


def test_expiry_uses_the_injected_clock(table: FakeTable, kms: FakeKms) -> None:
    table.put(USER, PLATFORM, accessToken={"S": new_token()}, expiresAt={"N": "10000"})
    now = [9000.0]
    reader = _reader(table, kms, clock=lambda: now[0])
    assert reader.get_token(USER, PLATFORM, min_validity_seconds=1000).expires_at == 10000
    now[0] = 9001.0
    with pytest.raises(TokenExpiredError):
        reader.get_token(USER, PLATFORM, min_validity_seconds=1000)


@pytest.mark.parametrize(
    ("user_id", "platform", "min_validity", "error"),
    [
        ("", PLATFORM, 0, ValueError),
        (USER, "", 0, ValueError),
        (USER, "a|b", 0, ValueError),
        (USER, PLATFORM, -1, ValueError),
        (USER, PLATFORM, float("nan"), ValueError),
        (USER, PLATFORM, True, TypeError),
        (USER, PLATFORM, "60", TypeError),
        (42, PLATFORM, 0, TypeError),
    ],
)
def test_bad_arguments_are_programming_errors(
    table: FakeTable, kms: FakeKms, user_id: Any, platform: Any, min_validity: Any, error: type
) -> None:
    with pytest.raises(error):
        _reader(table, kms).get_token(user_id, platform, min_validity_seconds=min_validity)
    assert table.calls == []


# --- configuration from the environment --------------------------------------------------------

BASE_ENV = {
    "TokensTableName": "tokens-env",
    "AWS_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture
def no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Keeps the machine's own AWS settings out of the configuration tests."""
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.mark.parametrize("value", [None, "", "   "])
def test_from_env_requires_the_table_name(value: Optional[str]) -> None:
    env = {**BASE_ENV}
    if value is None:
        del env["TokensTableName"]
    else:
        env["TokensTableName"] = value
    with pytest.raises(ConfigurationError) as caught:
        TokenReader.from_env(env)
    assert "TokensTableName" in str(caught.value)
    assert "deployer outputs --stage S --format env" in str(caught.value)


@pytest.mark.usefixtures("no_ambient_aws")
def test_from_env_reads_region_and_endpoints() -> None:
    env = {
        **BASE_ENV,
        "AWS_DEFAULT_REGION": "us-west-2",  # AWS_REGION wins
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:2",
    }
    reader = TokenReader.from_env(env)
    assert reader.table_name == "tokens-env"
    dynamodb, kms = reader._dynamodb, reader._kms
    assert (dynamodb.meta.region_name, kms.meta.region_name) == ("eu-west-3", "eu-west-3")
    assert dynamodb.meta.endpoint_url == "http://127.0.0.1:1"
    assert kms.meta.endpoint_url == "http://127.0.0.1:2"


@pytest.mark.usefixtures("no_ambient_aws")
def test_from_env_pins_kms_to_kms_key_arn(table: FakeTable, kms: FakeKms) -> None:
    _put_sealed(table, kms.new_data_key())
    pinned = "arn:aws:kms:eu-west-3:123456789012:key/stage"
    env = {**BASE_ENV, "KmsKeyArn": pinned}
    reader = TokenReader.from_env(env, dynamodb_client=table, kms_client=kms)
    reader.get_token(USER, PLATFORM)
    assert kms.key_ids == [pinned]
    assert "stage" in repr(reader)


@pytest.mark.usefixtures("no_ambient_aws")
def test_from_env_options_win(table: FakeTable, kms: FakeKms) -> None:
    _put_sealed(table, kms.new_data_key())
    env = {**BASE_ENV, "KmsKeyArn": "arn:aws:kms:eu-west-3:123456789012:key/stage"}
    reader = TokenReader.from_env(env, kms_key_id=None, dynamodb_client=table, kms_client=kms)
    reader.get_token(USER, PLATFORM)
    assert kms.key_ids == [KEY_ARN]


@pytest.mark.usefixtures("no_ambient_aws")
def test_from_env_without_a_region_says_so() -> None:
    env = {key: value for key, value in BASE_ENV.items() if key != "AWS_REGION"}
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        TokenReader.from_env(env)


@pytest.mark.usefixtures("no_ambient_aws")
def test_from_env_refuses_half_a_key_pair() -> None:
    env = {key: value for key, value in BASE_ENV.items() if key != "AWS_SECRET_ACCESS_KEY"}
    with pytest.raises(ConfigurationError, match="AWS_SECRET_ACCESS_KEY"):
        TokenReader.from_env(env)


def test_an_empty_table_name_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        TokenReader("", dynamodb_client=cast(Any, FakeTable()), kms_client=cast(Any, FakeKms()))
