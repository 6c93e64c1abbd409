"""Images API rules of the fake LinkedIn (reference §3.3, §3.6).

``initialize``, ``upload`` and ``read`` take the ``FakeLinkedIn`` state and the
caller's token record and return a Response or raise ``LinkedInError``. An image
takes exactly one full-length PUT before its URL expires; chunked uploads
(``Content-Range``), a second PUT and expired URLs are refused.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Response, jsonify, request

from . import errors
from .authors import check_author
from .state import UPLOAD_URL_TTL, Image

SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")  # JPEG, PNG, GIF


def initialize(fake, record, body: dict, host_url: str) -> Response:
    request_node = body.get("initializeUploadRequest")
    if set(body) != {"initializeUploadRequest"} or not isinstance(request_node, dict):
        raise errors.unprocessable("ERROR :: /initializeUploadRequest :: field is required; no other field is allowed")
    extra = set(request_node) - {"owner", "mediaLibraryMetadata"}
    if extra:
        raise errors.unprocessable(f"ERROR :: /initializeUploadRequest/{sorted(extra)[0]} :: unrecognized field")
    owner = check_author(fake, record, request_node.get("owner"))
    with fake.lock:
        image = Image(
            urn=f"urn:li:image:D4E10AQ{secrets.token_urlsafe(12)}",
            owner=owner,
            upload_id=secrets.token_urlsafe(16),
            upload_token=secrets.token_urlsafe(12),
            upload_expires_at=fake.now() + UPLOAD_URL_TTL,
            created_at=fake.now(),
        )
        fake.images[image.urn] = image
    url = (f"{host_url}/dms-uploads/sp/v2/{image.upload_id}/uploaded-image/0"
           f"?ca=vector_feedshare&cn=uploads&sync=0&v=beta&ut={image.upload_token}")
    return jsonify({"value": {"uploadUrlExpiresAt": int(image.upload_expires_at * 1000),
                              "uploadUrl": url, "image": image.urn}})


def upload(fake, record, upload_id: str, upload_token: str) -> Response:
    with fake.lock:
        image = next((i for i in fake.images.values() if i.upload_id == upload_id), None)
    if image is None or upload_token != image.upload_token:
        raise errors.not_found("Unknown upload URL")
    check_author(fake, record, image.owner)
    if fake.now() >= image.upload_expires_at:
        raise errors.forbidden("The upload URL has expired; initialize the upload again")
    if request.headers.get("Content-Range"):
        raise errors.bad_request("Chunked uploads are not supported: PUT the whole file in one request")
    if request.content_length is None:
        raise errors.bad_request("Content-Length is required")
    data = request.get_data(cache=False)
    if not data:
        raise errors.bad_request("The request body is empty")
    digest = hashlib.sha256(data).hexdigest()
    with fake.lock:
        if image.status != "WAITING_UPLOAD":
            raise errors.bad_request(f"{image.urn} was already uploaded ({image.status})")
        image.puts.append({"bytes": len(data), "sha256": digest, "range": [0, len(data) - 1]})
        image.size, image.sha256, image.uploaded_at = len(data), digest, fake.now()
        image.fail = fake.take_image_failure() or not data.startswith(SIGNATURES)
        image.status = "PROCESSING"
        fake.image_status(image)
    return Response(b"", status=201)


def read(fake, record, urn: str) -> Response:
    with fake.lock:
        image = fake.images.get(urn)
        if image is None:
            raise errors.not_found(f"{urn} does not exist")
        if not fake.member_can_read_images:
            raise errors.forbidden("Not enough permissions to access: images.GET")
        check_author(fake, record, image.owner)
        status = fake.image_status(image)
        body = {"id": urn, "owner": image.owner, "status": status}
        if status == "AVAILABLE":
            body.update(downloadUrl=f"https://media.licdn.com/dms/image/{image.upload_id}",
                        downloadUrlExpiresAt=int((fake.now() + 86400) * 1000))
        if status == "PROCESSING_FAILED":
            body["processingFailureReason"] = "The image could not be processed"
    return jsonify(body)
