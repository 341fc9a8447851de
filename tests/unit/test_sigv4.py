"""The fast SigV4 signer makes exactly the URLs botocore makes."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

from score_broker.storage.sigv4 import Credentials, QuerySigner


def signed_at(url: str) -> datetime:
    stamp = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("style", "endpoint", "bucket", "token"),
    [
        ("path", "http://127.0.0.1:7480", "score.data", None),
        ("path", None, "mybucket", "session-token"),
        ("virtual", None, "mybucket", None),
        ("virtual", "https://minio.example.org:9000", "bkt", None),
    ],
)
def test_urls_match_botocore(
    style: str, endpoint: str | None, bucket: str, token: str | None
) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="eu-west-2",
        aws_access_key_id="AKID",
        aws_secret_access_key="SECRET",
        aws_session_token=token,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )
    part = client.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "data/a b~c", "UploadId": "2~x/y+z", "PartNumber": 3},
        ExpiresIn=3600,
    )
    ranged = client.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": "data/k", "Range": "bytes=0-99"},
        ExpiresIn=60,
    )
    base = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    ).split("?")[0][:-1]
    credentials = Credentials("AKID", "SECRET", token)

    signer = QuerySigner(lambda: credentials, "eu-west-2", clock=lambda: signed_at(part))
    params = [("uploadId", "2~x/y+z"), ("partNumber", "3")]
    assert signer.presign("PUT", base, "data/a b~c", params, 3600) == part

    signer = QuerySigner(lambda: credentials, "eu-west-2", clock=lambda: signed_at(ranged))
    assert signer.presign("GET", base, "data/k", [], 60, "bytes=0-99") == ranged
