"""Test helpers: token values, secret comparison, the vectors, a moto server and a test writer.

No helper here prints or formats a token value: the project scans all test output for them, and
pytest's report of a failed ``assert a == b`` (or ``assert f(a, b)``) shows the values. Tests
compare secrets with :func:`assert_same_secret` and :func:`assert_not_shown`, which are calls,
not ``assert`` statements, so pytest has nothing to introspect; their messages name no value.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Optional

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oauth_token_reader.envelope import associated_data

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_kms import KMSClient

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
VECTORS_PATH = PACKAGE_ROOT / "../../tests/vectors/envelope-v1.json"
ITEM_VECTORS_PATH = PACKAGE_ROOT / "../../tests/vectors/token-items.json"
EXAMPLE_PATH = PACKAGE_ROOT / "examples" / "get_token.py"
INTEROP_PATH = PACKAGE_ROOT / "tests" / "interop_read.py"

REGION = "us-east-1"


def new_token(kind: str = "act") -> str:
    """A fresh token value in the project's test format (``act.py-<random>``)."""
    return f"{kind}.py-{secrets.token_hex(12)}"


def new_user() -> str:
    return f"user-py-{secrets.token_hex(6)}"


def same_secret(actual: object, expected: str) -> bool:
    """Whether ``actual`` is the string ``expected``, without ever showing either."""
    return isinstance(actual, str) and hmac.compare_digest(
        actual.encode("utf-8"), expected.encode("utf-8")
    )


def assert_same_secret(actual: object, expected: str, what: str = "the token") -> None:
    """Fails, without showing either value, unless ``actual`` is ``expected``."""
    if not same_secret(actual, expected):
        raise AssertionError(f"{what} is not the value written (values not shown)")


def assert_not_shown(secret: str, *texts: str) -> None:
    """Fails, without showing the secret, if any of ``texts`` contains it."""
    for index, text in enumerate(texts):
        if secret in text:
            raise AssertionError(f"text #{index} shows the secret (value not shown)")


def load_vectors(path: Path = VECTORS_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        vectors: dict[str, Any] = json.load(handle)
    return vectors


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- moto server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def moto_server_command() -> str:
    """``MOTO_SERVER`` when set, else the moto_server installed beside this Python."""
    configured = os.environ.get("MOTO_SERVER")
    if configured:
        return configured
    candidate = Path(sys.executable).parent / "moto_server"
    if not candidate.exists():
        raise RuntimeError(
            f"moto_server not found at {candidate}: install the dev extras "
            "(pip install -e 'clients/python[dev]') or set MOTO_SERVER to its path"
        )
    return str(candidate)


@dataclass
class MotoServer:
    """A moto server process on a free local port; :meth:`stop` ends it."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log_path: Path
    log: IO[bytes] = field(repr=False)

    @classmethod
    def start(cls, log_path: Path, timeout: float = 30.0) -> MotoServer:
        port = free_port()
        log = log_path.open("wb")
        process = subprocess.Popen(
            [moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = cls(process, f"http://127.0.0.1:{port}", log_path, log)
        try:
            server._wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited early; its log:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"moto_server not ready after {timeout} s; its log:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def aws_env(endpoint: str) -> dict[str, str]:
    """The standard AWS variables for the moto server: dummy credentials, one region."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


def create_tokens_table(dynamodb: DynamoDBClient, name: str) -> None:
    """The table the stack creates, as far as a reader can tell: keys userId and platform."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "userId", "KeyType": "HASH"},
            {"AttributeName": "platform", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "platform", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


# --- the test writer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    """One writer run's data key, as KMS GenerateDataKey returns it.

    ``encryption_context`` is the context GenerateDataKey was called with: ``None`` for an
    envelope v1 writer, ``{"tokensTable": <table>}`` for a v2 writer.
    """

    plaintext: bytes = field(repr=False)
    blob: bytes = field(repr=False)
    key_id: str
    encryption_context: Optional[dict[str, str]] = None


def seal(
    data_key: DataKey,
    value: str,
    user_id: str,
    platform: str,
    *,
    version: Optional[int] = None,
) -> dict[str, Any]:
    """An envelope in its DynamoDB map form (``{"M": ...}``), sealed for one item.

    ``version`` defaults to 2 for a data key generated with an encryption context, else 1.
    """
    if version is None:
        version = 1 if data_key.encryption_context is None else 2
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(data_key.plaintext).encrypt(
        nonce, value.encode("utf-8"), associated_data(user_id, platform)
    )
    return {
        "M": {
            "version": {"N": str(version)},
            "keyId": {"S": data_key.key_id},
            "encryptedKey": {"S": b64(data_key.blob)},
            "nonce": {"S": b64(nonce)},
            "ciphertext": {"S": b64(ciphertext)},
        }
    }


class TestWriter:
    """Writes token items the way the contract's writers do; for tests only (no version rule)."""

    __test__ = False  # not a test class, despite its name

    def __init__(
        self, dynamodb: DynamoDBClient, kms: KMSClient, table_name: str, key_arn: str
    ) -> None:
        self.dynamodb = dynamodb
        self.kms = kms
        self.table_name = table_name
        self.key_arn = key_arn

    def new_data_key(self) -> DataKey:
        """A v1 writer's data key: GenerateDataKey without an encryption context."""
        response = self.kms.generate_data_key(KeyId=self.key_arn, KeySpec="AES_256")
        return DataKey(response["Plaintext"], response["CiphertextBlob"], response["KeyId"])

    def new_data_key_v2(self, tokens_table: Optional[str] = None) -> DataKey:
        """A v2 writer's data key: GenerateDataKey with ``{"tokensTable": tokens_table}``.

        ``tokens_table`` defaults to this writer's table, as the Rust writer does.
        """
        context = {"tokensTable": self.table_name if tokens_table is None else tokens_table}
        response = self.kms.generate_data_key(
            KeyId=self.key_arn, KeySpec="AES_256", EncryptionContext=context
        )
        return DataKey(
            response["Plaintext"], response["CiphertextBlob"], response["KeyId"], context
        )

    def put(
        self,
        user_id: str,
        platform: str,
        access_token: Optional[dict[str, Any]],
        *,
        expires_at: Optional[int] = None,
        status: Optional[str] = "active",
        version: Optional[int] = 1,
        scope: Optional[str] = None,
        extra: Optional[dict[str, Any]] = None,
    ) -> None:
        """Puts an item; ``None`` leaves an attribute out (as an app that does not keep it)."""
        item: dict[str, Any] = {
            "userId": {"S": user_id},
            "platform": {"S": platform},
            "updatedAt": {"N": str(int(time.time()))},
        }
        optional: dict[str, Optional[dict[str, Any]]] = {
            "accessToken": access_token,
            "expiresAt": None if expires_at is None else {"N": str(expires_at)},
            "status": None if status is None else {"S": status},
            "version": None if version is None else {"N": str(version)},
            "scope": None if scope is None else {"S": scope},
        }
        item.update({name: value for name, value in optional.items() if value is not None})
        item.update(extra or {})
        typed: dict[str, AttributeValueTypeDef] = item
        self.dynamodb.put_item(TableName=self.table_name, Item=typed)

    def put_envelope(
        self, user_id: str, platform: str, value: str, data_key: DataKey, **attributes: Any
    ) -> None:
        self.put(user_id, platform, seal(data_key, value, user_id, platform), **attributes)

    def put_plaintext(self, user_id: str, platform: str, value: str, **attributes: Any) -> None:
        self.put(user_id, platform, {"S": value}, **attributes)

    def get_access_token_attribute(self, user_id: str, platform: str) -> dict[str, Any]:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={"userId": {"S": user_id}, "platform": {"S": platform}},
            ConsistentRead=True,
        )
        attribute: dict[str, Any] = dict(response["Item"]["accessToken"])
        return attribute
