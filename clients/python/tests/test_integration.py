"""Against a moto server: a real table and KMS key, items written in both formats."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from oauth_token_reader import (
    ConfigurationError,
    DecryptionError,
    MalformedItemError,
    NeedsReauthError,
    TokenExpiredError,
    TokenInactiveError,
    TokenNotFoundError,
    TokenReader,
)
from support import (
    TestWriter,
    assert_not_shown,
    assert_same_secret,
    new_token,
    new_user,
    same_secret,
    seal,
)

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

pytestmark = pytest.mark.integration

PLATFORM = "schwab"


def test_an_envelope_item_reads(writer: TestWriter, reader: TokenReader) -> None:
    user, token = new_user(), new_token()
    expires_at = int(time.time()) + 3600
    writer.put_envelope(
        user,
        PLATFORM,
        token,
        writer.new_data_key(),
        expires_at=expires_at,
        version=4,
        scope="read trade",
    )
    read = reader.get_token(user, PLATFORM)
    assert_same_secret(read.access_token, token)
    assert (read.expires_at, read.scope, read.status, read.version) == (
        expires_at,
        "read trade",
        "active",
        4,
    )
    assert reader.stats.kms_decrypt_calls == 1


def test_a_plaintext_item_reads_without_kms(writer: TestWriter, reader: TokenReader) -> None:
    user, token = new_user(), new_token()
    writer.put_plaintext(user, PLATFORM, token, expires_at=int(time.time()) + 3600)
    assert_same_secret(reader.get_token(user, PLATFORM).access_token, token)
    assert reader.stats.kms_decrypt_calls == 0


def test_an_app_written_item_is_version_0_and_active(
    writer: TestWriter, reader: TokenReader
) -> None:
    user, token = new_user(), new_token()
    writer.put_plaintext(user, PLATFORM, token, status=None, version=None)
    read = reader.get_token(user, PLATFORM, min_validity_seconds=3600)
    assert_same_secret(read.access_token, token)
    assert (read.version, read.status, read.expires_at, read.scope) == (0, "active", None, None)


def test_a_missing_item_is_not_found(reader: TokenReader) -> None:
    with pytest.raises(TokenNotFoundError):
        reader.get_token(new_user(), PLATFORM)


def test_the_run_lock_is_not_found(writer: TestWriter, reader: TokenReader) -> None:
    writer.put(
        "cron",
        "refresh-oauth",
        None,
        status=None,
        version=None,
        expires_at=int(time.time()) + 60,
        extra={"lockOwner": {"S": "run-1"}},
    )
    with pytest.raises(TokenNotFoundError):
        reader.get_token("cron", "refresh-oauth")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("needs_reauth", NeedsReauthError),
        ("inactive", TokenInactiveError),
        ("suspended", TokenInactiveError),
    ],
)
def test_statuses(
    writer: TestWriter, reader: TokenReader, status: str, error: type[Exception]
) -> None:
    user = new_user()
    writer.put_envelope(user, PLATFORM, new_token(), writer.new_data_key(), status=status)
    with pytest.raises(error):
        reader.get_token(user, PLATFORM)
    # A dead or disconnected grant is reported before anything is decrypted.
    assert reader.stats.kms_decrypt_calls == 0


def test_an_envelope_copied_into_another_item_does_not_decrypt(
    writer: TestWriter, reader: TokenReader
) -> None:
    victim, thief = new_user(), new_user()
    writer.put_envelope(victim, PLATFORM, new_token(), writer.new_data_key())
    writer.put(thief, PLATFORM, writer.get_access_token_attribute(victim, PLATFORM))
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(thief, PLATFORM)
    assert caught.value.kms_error_code is None  # KMS agreed; AES-GCM refused
    writer.put(victim, "reddit", writer.get_access_token_attribute(victim, PLATFORM))
    with pytest.raises(DecryptionError):
        reader.get_token(victim, "reddit")


def test_a_flipped_ciphertext_byte_does_not_decrypt(
    writer: TestWriter, reader: TokenReader
) -> None:
    user = new_user()
    writer.put_envelope(user, PLATFORM, new_token(), writer.new_data_key())
    attribute = writer.get_access_token_attribute(user, PLATFORM)
    ciphertext = bytearray(base64.b64decode(attribute["M"]["ciphertext"]["S"]))
    ciphertext[3] ^= 0x01
    attribute["M"]["ciphertext"]["S"] = base64.b64encode(bytes(ciphertext)).decode("ascii")
    writer.put(user, PLATFORM, attribute)
    with pytest.raises(DecryptionError):
        reader.get_token(user, PLATFORM)


def test_an_encrypted_key_kms_refuses(writer: TestWriter, reader: TokenReader) -> None:
    user = new_user()
    writer.put_envelope(user, PLATFORM, new_token(), writer.new_data_key())
    attribute = writer.get_access_token_attribute(user, PLATFORM)
    attribute["M"]["encryptedKey"]["S"] = base64.b64encode(b"\x01" * 96).decode("ascii")
    writer.put(user, PLATFORM, attribute)
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(user, PLATFORM)
    # Real KMS says InvalidCiphertextException; moto, reading a key id out of the blob, may say
    # AccessDeniedException. Either way KMS refused, and the error carries its code.
    assert caught.value.kms_error_code in ("InvalidCiphertextException", "AccessDeniedException")


def test_a_reader_pinned_to_another_key_is_refused_by_kms(
    writer: TestWriter, env: dict[str, str], kms: KMSClient
) -> None:
    user = new_user()
    writer.put_envelope(user, PLATFORM, new_token(), writer.new_data_key())
    other_key = kms.create_key(Description="another stage")["KeyMetadata"]["Arn"]
    reader = TokenReader.from_env({**env, "KmsKeyArn": other_key})
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(user, PLATFORM)
    # Real KMS says IncorrectKeyException; moto says AccessDeniedException.
    assert caught.value.kms_error_code in ("IncorrectKeyException", "AccessDeniedException")


def test_a_malformed_item_names_the_attribute(writer: TestWriter, reader: TokenReader) -> None:
    user = new_user()
    writer.put(user, PLATFORM, {"N": "12345"})
    with pytest.raises(MalformedItemError) as caught:
        reader.get_token(user, PLATFORM)
    assert caught.value.attribute == "accessToken"


def test_min_validity_seconds(writer: TestWriter, reader: TokenReader) -> None:
    soon, later, never = new_user(), new_user(), new_user()
    data_key = writer.new_data_key()
    expires_soon = int(time.time()) + 30
    writer.put_envelope(soon, PLATFORM, new_token(), data_key, expires_at=expires_soon)
    writer.put_envelope(later, PLATFORM, new_token(), data_key, expires_at=int(time.time()) + 7200)
    writer.put_envelope(never, PLATFORM, new_token(), data_key, expires_at=None)

    with pytest.raises(TokenExpiredError) as caught:
        reader.get_token(soon, PLATFORM, min_validity_seconds=60)
    assert caught.value.expires_at == expires_soon
    assert caught.value.min_validity_seconds == 60
    assert "refresher refreshes it on its schedule" in str(caught.value)
    assert reader.stats.kms_decrypt_calls == 0  # refused before opening: no KMS call
    assert reader.get_token(soon, PLATFORM, min_validity_seconds=10).expires_at == expires_soon
    assert reader.get_token(soon, PLATFORM).expires_at == expires_soon
    assert reader.get_token(later, PLATFORM, min_validity_seconds=3600).expires_at is not None
    assert reader.get_token(never, PLATFORM, min_validity_seconds=86400).expires_at is None


def test_an_expired_item_is_expired_even_without_a_margin(
    writer: TestWriter, reader: TokenReader
) -> None:
    user = new_user()
    writer.put_plaintext(user, PLATFORM, new_token(), expires_at=int(time.time()) - 5)
    with pytest.raises(TokenExpiredError):
        reader.get_token(user, PLATFORM)


def _counting_kms(env: dict[str, str]) -> tuple[Any, list[str]]:
    """A KMS client whose Decrypt calls are counted through botocore's own events."""
    kms, _ = _recording_kms(env)
    calls: list[str] = []

    def count(**kwargs: Any) -> None:
        calls.append(kwargs["model"].name)

    kms.meta.events.register("before-call.kms.Decrypt", count)
    return kms, calls


def _recording_kms(env: dict[str, str]) -> tuple[Any, list[dict[str, Any]]]:
    """A KMS client that records the JSON body of each Decrypt request, as botocore serialised
    it for the wire (its before-call event)."""
    kms = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=env["AWS_REGION"],
    ).client("kms", endpoint_url=env["AWS_ENDPOINT_URL"])
    params: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        body: dict[str, Any] = json.loads(kwargs["params"]["body"])
        params.append(body)

    kms.meta.events.register("before-call.kms.Decrypt", record)
    return kms, params


def test_1000_reads_of_100_items_under_one_data_key_make_one_kms_call(
    writer: TestWriter, env: dict[str, str]
) -> None:
    data_key = writer.new_data_key()
    users = [new_user() for _ in range(100)]
    tokens = {user: new_token() for user in users}
    for user in users:
        writer.put_envelope(user, PLATFORM, tokens[user], data_key)
    kms, decrypt_calls = _counting_kms(env)
    reader = TokenReader.from_env(env, kms_client=kms)

    mismatches = 0
    for round_ in range(10):
        for user in users:
            token = reader.get_token(user, PLATFORM, min_validity_seconds=round_)
            mismatches += not same_secret(token.access_token, tokens[user])
    assert mismatches == 0
    assert reader.stats.get_item_calls == 1000
    assert reader.stats.kms_decrypt_calls == 1
    assert decrypt_calls == ["Decrypt"]


def test_concurrent_first_reads_make_one_kms_call(writer: TestWriter, env: dict[str, str]) -> None:
    data_key = writer.new_data_key()
    users = [new_user() for _ in range(8)]
    for user in users:
        writer.put_envelope(user, PLATFORM, new_token(), data_key)
    kms, decrypt_calls = _counting_kms(env)
    reader = TokenReader.from_env(env, kms_client=kms)
    barrier = threading.Barrier(len(users))
    failures: list[BaseException] = []

    def read(user: str) -> None:
        barrier.wait(timeout=10)
        try:
            reader.get_token(user, PLATFORM)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            failures.append(exc)

    threads = [threading.Thread(target=read, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [type(failure).__name__ for failure in failures] == []
    assert len(decrypt_calls) == 1
    assert reader.stats.kms_decrypt_calls == 1


# --- envelope v2: the data key is bound to the tokens table by KMS's encryption context ----------


def test_a_v2_item_reads(writer: TestWriter, reader: TokenReader) -> None:
    user, token = new_user(), new_token()
    writer.put_envelope(user, PLATFORM, token, writer.new_data_key_v2(), version=3)
    attribute = writer.get_access_token_attribute(user, PLATFORM)
    assert attribute["M"]["version"] == {"N": "2"}
    read = reader.get_token(user, PLATFORM)
    assert_same_secret(read.access_token, token)
    assert (read.version, reader.stats.kms_decrypt_calls) == (3, 1)


def test_a_v1_item_still_reads_beside_v2(writer: TestWriter, reader: TokenReader) -> None:
    old, new = new_user(), new_user()
    old_token, new_token_ = new_token(), new_token()
    writer.put_envelope(old, PLATFORM, old_token, writer.new_data_key())
    writer.put_envelope(new, PLATFORM, new_token_, writer.new_data_key_v2())
    assert_same_secret(reader.get_token(old, PLATFORM).access_token, old_token)
    assert_same_secret(reader.get_token(new, PLATFORM).access_token, new_token_)
    assert reader.stats.kms_decrypt_calls == 2


def test_a_v2_envelope_sealed_for_another_table_is_refused(
    writer: TestWriter, reader: TokenReader
) -> None:
    user = new_user()
    data_key = writer.new_data_key_v2("some-other-table")
    writer.put_envelope(user, PLATFORM, new_token(), data_key)
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(user, PLATFORM)
    # KMS refused: the context it was asked with is not the one the key was generated with.
    assert caught.value.kms_error_code == "InvalidCiphertextException"
    assert "another tokens table" in str(caught.value)


def test_a_v1_data_key_in_a_v2_envelope_is_refused(writer: TestWriter, reader: TokenReader) -> None:
    user = new_user()
    writer.put(user, PLATFORM, seal(writer.new_data_key(), new_token(), user, PLATFORM, version=2))
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(user, PLATFORM)
    assert caught.value.kms_error_code == "InvalidCiphertextException"


def test_a_v2_data_key_in_a_v1_envelope_is_refused(writer: TestWriter, reader: TokenReader) -> None:
    user = new_user()
    data_key = writer.new_data_key_v2()
    writer.put(user, PLATFORM, seal(data_key, new_token(), user, PLATFORM, version=1))
    with pytest.raises(DecryptionError) as caught:
        reader.get_token(user, PLATFORM)
    assert caught.value.kms_error_code == "InvalidCiphertextException"


def test_1000_reads_of_v2_items_under_one_data_key_make_one_kms_call(
    writer: TestWriter, env: dict[str, str]
) -> None:
    data_key = writer.new_data_key_v2()
    users = [new_user() for _ in range(100)]
    tokens = {user: new_token() for user in users}
    for user in users:
        writer.put_envelope(user, PLATFORM, tokens[user], data_key)
    kms, decrypt_calls = _counting_kms(env)
    reader = TokenReader.from_env(env, kms_client=kms)

    mismatches = 0
    for _ in range(10):
        for user in users:
            mismatches += not same_secret(
                reader.get_token(user, PLATFORM).access_token, tokens[user]
            )
    assert mismatches == 0
    assert reader.stats.get_item_calls == 1000
    assert reader.stats.kms_decrypt_calls == 1
    assert decrypt_calls == ["Decrypt"]


def test_decrypt_carries_the_context_for_v2_and_none_for_v1(
    writer: TestWriter, env: dict[str, str], table_name: str, kms_key_arn: str
) -> None:
    v1_user, v2_user = new_user(), new_user()
    writer.put_envelope(v1_user, PLATFORM, new_token(), writer.new_data_key())
    writer.put_envelope(v2_user, PLATFORM, new_token(), writer.new_data_key_v2())
    kms, decrypt_params = _recording_kms(env)
    reader = TokenReader.from_env(env, kms_client=kms)
    reader.get_token(v2_user, PLATFORM)
    reader.get_token(v1_user, PLATFORM)
    assert [sorted(params) for params in decrypt_params] == [
        ["CiphertextBlob", "EncryptionContext", "KeyId"],
        ["CiphertextBlob", "KeyId"],
    ]
    assert decrypt_params[0]["EncryptionContext"] == {"tokensTable": table_name}
    assert all(params["KeyId"] == kms_key_arn for params in decrypt_params)


def test_repr_of_a_read_token_is_redacted(writer: TestWriter, reader: TokenReader) -> None:
    user, token = new_user(), new_token()
    writer.put_envelope(user, PLATFORM, token, writer.new_data_key())
    read = reader.get_token(user, PLATFORM)
    assert_not_shown(
        token, repr(read), str(read), f"{read}", repr([read]), repr(reader), repr(reader.stats)
    )
    assert "access_token='***'" in repr(read)


def test_a_table_that_does_not_exist(env: dict[str, str]) -> None:
    reader = TokenReader.from_env({**env, "TokensTableName": "no-such-table"})
    with pytest.raises(ConfigurationError, match="no-such-table"):
        reader.get_token(new_user(), PLATFORM)
