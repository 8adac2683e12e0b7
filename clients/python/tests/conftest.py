"""Fixtures: one moto server per session (started only if an integration test runs), one table
and one KMS key on it, a fresh reader and a test writer per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from oauth_token_reader import TokenReader
from support import MotoServer, TestWriter, aws_env, create_tokens_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer.start(tmp_path_factory.mktemp("moto") / "moto_server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_env(moto_server: MotoServer) -> dict[str, str]:
    """The standard AWS variables pointing at the moto server."""
    return aws_env(moto_server.endpoint)


@pytest.fixture(scope="session")
def session(base_env: dict[str, str]) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=base_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=base_env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=base_env["AWS_SESSION_TOKEN"],
        region_name=base_env["AWS_REGION"],
    )


@pytest.fixture(scope="session")
def dynamodb(session: boto3.session.Session, base_env: dict[str, str]) -> DynamoDBClient:
    return session.client("dynamodb", endpoint_url=base_env["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="session")
def kms(session: boto3.session.Session, base_env: dict[str, str]) -> KMSClient:
    return session.client("kms", endpoint_url=base_env["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="session")
def table_name(dynamodb: DynamoDBClient) -> str:
    name = f"tokens-py-{secrets.token_hex(4)}"
    create_tokens_table(dynamodb, name)
    return name


@pytest.fixture(scope="session")
def kms_key_arn(kms: KMSClient) -> str:
    return kms.create_key(Description="oauth-token-reader tests")["KeyMetadata"]["Arn"]


@pytest.fixture
def env(base_env: dict[str, str], table_name: str, kms_key_arn: str) -> dict[str, str]:
    """What `deployer outputs --format env` prints for the stage, plus the AWS variables."""
    return {**base_env, "TokensTableName": table_name, "KmsKeyArn": kms_key_arn}


@pytest.fixture
def writer(
    dynamodb: DynamoDBClient, kms: KMSClient, table_name: str, kms_key_arn: str
) -> TestWriter:
    return TestWriter(dynamodb, kms, table_name, kms_key_arn)


@pytest.fixture
def reader(env: dict[str, str]) -> TokenReader:
    """A fresh reader (empty data-key cache) configured from the environment only."""
    return TokenReader.from_env(env)
