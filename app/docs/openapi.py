"""The OpenAPI 3.1 document of the gateway, built from the code that serves it.

``build_spec(app)`` returns the document as a dict: the 19 push endpoints come
from ``app.push.endpoints.ENDPOINTS`` and their pydantic schemas; every other
route comes from the ``operations.OPERATIONS`` table when the app serves it (a
route the table does not know still appears, described by its docstring).
"""

from __future__ import annotations

import re

from flask import Flask
from pydantic import BaseModel

from app.docs import envelopes as env
from app.docs.operations import ERROR_TEXT, Operation, find, path_param
from app.identities.schemas import IdentityImport, Synchronize
from app.push.endpoints import ENDPOINTS, Endpoint

#: Blueprints that serve people, not API clients: not part of the API description.
NOT_API = ("static", "dashboard.", "push.")

PUSH_ERRORS = (400, 401, 403, 404, 409, 413, 429, 500, 502)
ID_FIELD = {"post": "post_id", "picture": "picture_id", "video": "video_id", "pin": "pin_id",
            "playlist": "playlist_id", "section": "section_id"}

#: What the JSON Schema cannot say (rules checked by model validators).
NOTES = {
    "FacebookPost": "Give `message` or `link`; `link` and `attachments` cannot be combined.",
    "GroupPost": "Give `message` or `link`; `link` and `attachments` cannot be combined.",
    "FacebookVideo": "`url` is accepted as an alias of `video_url`.",
    "GroupVideo": "`url` is accepted as an alias of `video_url`.",
    "LinkedInPost": "Give `message` or `link`.",
    "LinkedInCompanyPost": "Give `message` or `link`; `company` is the organization id or URN.",
    "PinterestPin": "Give exactly one of `picture` or `video_url`.",
    "TwitterPost": "`message` is at most 280 characters (a URL counts as 23).",
    "YouTubeSection": "A `singlePlaylist` section takes exactly one id in `playlists`; "
                      "`multiple*` sections need a `title`.",
}
SCHEDULE_NOTE = ("With `publish_at` (RFC 3339 with an offset, or epoch seconds) the push is scheduled: it "
                 "answers at once with the `request_token` and `publish_at`, waits in state `waiting` (its "
                 "video fetched and checked ahead, so one that cannot be fetched fails before its time) and "
                 "publishes at that time; a time in the past or beyond the horizon is a 400.")
URL_NOTE = ("URLs must be absolute http(s) URLs; Pushwire downloads them itself. Videos are checked "
            "by content (3gpp, avi, flv, mov, mpeg4, mpegps, webm, wmv) and size while downloading; "
            "pictures are at most 5 MB (jpeg, bmp, png, gif, tiff).")

VIDEO = {"video_url": "https://media.example.com/clips/party.mp4",
         "callback_url": "https://example.com/pushwire-callback"}
POST = {"message": "Hello from Pushwire", "link": "https://example.com/article"}
PICTURE = {"url": "https://media.example.com/pictures/cat.jpg", "description": "Our cat"}
BODY_EXAMPLES = {
    "FacebookPost": POST,
    "FacebookPicture": PICTURE,
    "FacebookVideo": {**VIDEO, "title": "Party", "description": "Saturday night"},
    "GroupPost": {"id": "1234567890", **POST},
    "GroupPicture": {"id": "1234567890", **PICTURE},
    "GroupVideo": {"id": "1234567890", **VIDEO, "title": "Party"},
    "LinkedInPost": {**POST, "title": "Our article"},
    "LinkedInCompanyPost": {"company": "2414183", **POST},
    "PinterestPin": {"board": "549755885175", "picture": PICTURE["url"], "title": "Cat",
                     "link": "https://example.com/cat"},
    "TwitterPost": {"message": "Hello from Pushwire https://example.com/article"},
    "TwitterPicture": PICTURE,
    "TwitterVideo": VIDEO,
    "YouTubeVideo": {**VIDEO, "title": "Party", "privacy_status": "unlisted", "tags": ["party"]},
    "YouTubePlaylistVideo": {"video_id": "dQw4w9WgXcQ", "position": 0},
    "YouTubePlaylist": {"title": "Parties", "privacy_status": "public"},
    "YouTubeSection": {"type": "singlePlaylist", "playlists": ["PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf"]},
}


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3.1 document for what ``app`` serves."""
    schemas = {**env.component_schemas()}
    paths: dict[str, dict] = {}
    for endpoint in ENDPOINTS:
        path = f"/push/identities/{{identity_token}}/{_openapi_path(endpoint.path)}.json"
        paths.setdefault(path, {})["post"] = _push_operation(endpoint, path, schemas)
    for model in (IdentityImport, Synchronize):
        _add_model(model, schemas)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith(NOT_API):
            continue
        path = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            row = find(method.lower(), path) or find("get", path)
            view = app.view_functions.get(rule.endpoint)
            op = _table_operation(row, path) if row else _generic_operation(rule, view)
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pushwire API", "version": "1.0",
                 "description": "OneAll-compatible Push API and Twitvid-compatible Stream API. "
                                "Authenticate with HTTP Basic: the site's public key as user name and "
                                "its private key as password. Every answer is a OneAll envelope."},
        "servers": [{"url": "/"}],
        "security": [{"basicAuth": []}],
        "tags": [{"name": n} for n in ("facebook", "linkedin", "pinterest", "twitter", "youtube",
                                        "requests", "identities", "stream", "operations", "documentation")],
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic",
                                                         "description": "public key : private key"}}},
    }


def _openapi_path(rule: str) -> str:
    """Werkzeug ``<int:x>`` / ``<x>`` placeholders as OpenAPI ``{x}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def _add_model(model: type[BaseModel], schemas: dict) -> dict:
    """Put the model's JSON Schema (and its nested models) into components; return a $ref."""
    schema = model.model_json_schema(ref_template=env.REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return env.ref(model.__name__)


def _push_operation(endpoint: Endpoint, path: str, schemas: dict) -> dict:
    name = endpoint.schema.__name__
    node_ref = _add_model(endpoint.schema, schemas)
    body = {"type": "object", "required": ["request"], "properties": {"request": {
        "type": "object", "required": ["push"], "properties": {"push": {
            "type": "object", "required": [endpoint.node], "additionalProperties": False,
            "properties": {endpoint.node: node_ref}}}}}}
    example = {"request": {"push": {endpoint.node: BODY_EXAMPLES.get(name, {})}}}
    params = [path_param("identity_token", env.IDENTITY_TOKEN)]
    if "{playlist_id}" in path:
        params.append(path_param("playlist_id", "PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf"))
    params.append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
                   "description": "Same key and body within 24 h returns the first request's result."})
    resource = path.replace("{identity_token}", env.IDENTITY_TOKEN).replace(
        "{playlist_id}", "PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf")
    return {
        "tags": [endpoint.provider],
        "operationId": "push_" + re.sub(r"\W+", "_", endpoint.path).strip("_"),
        "summary": f"Push a {endpoint.object} ({endpoint.path.replace('<playlist_id>', '{playlist_id}')})",
        "description": _push_description(endpoint),
        "parameters": params,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body, "example": example}}},
        "responses": {**_push_ok(endpoint, resource), **_errors(PUSH_ERRORS, resource)},
    }


def _push_description(endpoint: Endpoint) -> str:
    timing = ("Asynchronous: answers at once with a `request_token`; the result is POSTed to "
              "`callback_url` and readable at `/push/requests/{token}.json`." if endpoint.is_video else
              "Answers with the provider's ids when the provider finishes within a short bound; "
              "otherwise 202 with a `request_token`, and the work finishes in the background.")
    note = NOTES.get(endpoint.schema.__name__, "")
    return f"Body node `{endpoint.node}`. {note} {timing} {SCHEDULE_NOTE} {URL_NOTE}".replace("  ", " ")


def _push_ok(endpoint: Endpoint, resource: str) -> dict:
    if endpoint.is_video:
        data = {"object": "video", "request_token": env.REQUEST_TOKEN,
                "result": "The video has been added to the queue and will be uploaded soon."}
    else:
        data = {"provider": endpoint.provider, "object": endpoint.object,
                ID_FIELD[endpoint.object]: "1120592651986796544", "date_creation": env.DATE,
                "url": f"https://{endpoint.provider}.example/1120592651986796544", "request_token": env.REQUEST_TOKEN}
    accepted = {"object": endpoint.object, "request_token": env.REQUEST_TOKEN,
                "result": f"The {endpoint.object} has been added to the queue and will be published soon."}
    schema = env.success(env.ref("PushData"))
    return {
        "200": {"description": "Queued (videos) or done (the provider's ids).",
                "content": {"application/json": {"schema": schema, "example": env.success_example(resource, data)}}},
        "202": {"description": "Accepted; still in progress after the short bound.",
                "content": {"application/json": {"schema": schema, "example": env.success_example(
                    resource, accepted, 202, "Your request has been accepted and is being processed")}}},
    }


def _errors(codes, resource: str) -> dict:
    out = {}
    for code in codes:
        info, reason = ERROR_TEXT[code]
        response = {"description": info, "content": {"application/json": {
            "schema": env.ERROR, "example": env.error_example(resource, code, info, reason)}}}
        if code == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
        out[str(code)] = response
    return out


def _table_operation(row: Operation, path: str) -> dict:
    resource = path.replace("{token}", env.REQUEST_TOKEN if "requests" in path else env.IDENTITY_TOKEN)
    code, data = row.ok
    if data is None:
        ok = {str(code): {"description": row.summary, "content": {row.media: {"schema": {}}}}}
    else:
        content = {"schema": env.success(env.ref(data))}
        if row.data_example is not None:
            content["example"] = env.success_example(resource, row.data_example, code)
        ok = {str(code): {"description": row.summary, "content": {"application/json": content}}}
        if "also_ok" in row.extra:
            ok[str(row.extra["also_ok"])] = {"description": "Updated", "content": {"application/json": {
                "schema": env.success(env.ref(data)),
                "example": env.success_example(resource, row.data_example or {}, row.extra["also_ok"])}}}
    op = {"tags": [row.tag], "summary": row.summary, "description": row.description or row.summary,
          "parameters": list(row.params), "responses": {**ok, **_errors(row.errors, resource)}}
    if row.public:
        op["security"] = []
    if row.body is not None:
        media = {"schema": row.body}
        if row.body_example is not None:
            media["example"] = row.body_example
        op["requestBody"] = {"required": not row.extra.get("body_optional"), "content": {"application/json": media}}
    return op


def _generic_operation(rule, view) -> dict:
    doc = (getattr(view, "__doc__", None) or "").strip()
    summary = doc.splitlines()[0] if doc else rule.endpoint
    params = [path_param(arg, "example") for arg in sorted(rule.arguments)]
    return {"tags": [rule.endpoint.split(".")[0]], "summary": summary, "description": doc or summary,
            "parameters": params, "responses": {"default": {"description": "See the description."}}}
