"""The S3 store's own speed, the yardstick of ``bench.pipeline``'s S3 rows.

``python -m bench.storebase ENDPOINT BUCKET SIZE SEED`` uploads ``SIZE`` bytes of the
bench's generated video with boto3's own ``upload_fileobj`` (8 MiB parts, 4
threads: Pushwire's defaults), then reads the object back with one streaming
``get_object`` to the end, and prints both times in seconds. The client is
configured as Pushwire's store configures its own (CRC checksums only when
required: like with like; TransferConfig as boto3 documents it), and runs in
its own process, as the worker does.
"""

from __future__ import annotations

import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from bench.genorigin import generate
from tests.support.s3server import TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY

MIB = 1024 * 1024
PART = 8 * MIB


class GeneratedFile:
    """A read-only file over ``generate(size, seed)``: what the origin serves, no HTTP."""

    def __init__(self, size: int, seed: int) -> None:
        self._blocks, self._rest = generate(size, seed), b""

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer at the end) joined with one copy: blocks are 1 MiB, parts 8 MiB."""
        pieces, got = ([self._rest] if self._rest else []), len(self._rest)
        self._rest = b""
        while n < 0 or got < n:
            block = next(self._blocks, None)
            if block is None:
                break
            if n >= 0 and got + len(block) > n:
                block, self._rest = block[:n - got], block[n - got:]
            pieces.append(block)
            got += len(block)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def measure(endpoint: str, bucket: str, size: int, seed: int) -> tuple[float, float]:
    """(upload seconds, streaming GET seconds) of ``size`` bytes at ``endpoint``."""
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=TEST_REGION, aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))
    key = f"storebase/{seed}-{size}"
    started = time.perf_counter()
    client.upload_fileobj(GeneratedFile(size, seed), bucket, key,
                          Config=TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4))
    uploaded = time.perf_counter()
    body, got = client.get_object(Bucket=bucket, Key=key)["Body"], 0
    while data := body.read(PART):
        got += len(data)
    read = time.perf_counter()
    client.delete_object(Bucket=bucket, Key=key)
    assert got == size, (got, size)
    return uploaded - started, read - uploaded


if __name__ == "__main__":
    up, get = measure(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(f"{up:.3f} {get:.3f}")
