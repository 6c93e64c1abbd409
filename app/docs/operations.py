"""The table of non-push operations described in the OpenAPI document.

One row per (method, path). A row is only published when the gateway really
serves that route (colleagues' resources appear as they land), and routes the
table does not know get a generic entry built from the view's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.docs.envelopes import (
    DETAIL_EXAMPLE,
    IDENTITY_EXAMPLE,
    IDENTITY_TOKEN,
    REQUEST_TOKEN,
    STATES,
    SUMMARY_EXAMPLE,
    ref,
)
from app.identities.schemas import PROVIDERS

ERROR_TEXT = {
    400: ("Invalid request: malformed JSON, a wrong or missing field, a bad filter.", "invalid_field"),
    401: ("Missing or wrong HTTP Basic credentials (site public key / private key).", "invalid_credentials"),
    403: ("Refused by the provider (e.g. the identity lacks a permission).", "permission_denied"),
    404: ("Unknown resource, identity or request (or one that belongs to another site).", "unknown_identity"),
    409: ("Conflict with the resource's current state.", "not_cancellable"),
    413: ("The request body is too large.", "request_too_large"),
    429: ("Rate limited; retry after the `Retry-After` seconds.", "rate_limited"),
    500: ("Internal error; it has been logged.", "internal_error"),
    501: ("Not available for this provider yet.", "not_supported"),
    502: ("The provider failed or could not be reached.", "provider_error"),
    503: ("A dependency is not ready.", "not_ready"),
}


@dataclass(frozen=True)
class Operation:
    """One documented operation that is not a push endpoint."""

    method: str
    path: str  # OpenAPI form, e.g. /push/requests/{token}.json
    tag: str
    summary: str
    description: str = ""
    ok: tuple[int, str | None] = (200, None)  # status, data component (None: not an envelope)
    errors: tuple[int, ...] = (401, 500)
    params: tuple[dict, ...] = ()
    body: dict | None = None
    body_example: dict | None = None
    data_example: dict | None = None
    public: bool = False  # no Basic auth
    media: str = "application/json"
    extra: dict = field(default_factory=dict)


def path_param(name: str, example: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "example": example}


def query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


PAGING = (
    query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    query("per_page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "Entries per page (1-500)."),
)
_TOKEN = path_param("token", REQUEST_TOKEN)
_IDENTITY = path_param("token", IDENTITY_TOKEN)
_SYNC = {"type": "object", "properties": {"request": {"type": "object", "required": ["synchronize"], "properties": {
    "synchronize": ref("Synchronize")}}}}
_IMPORT = {"type": "object", "required": ["request"], "properties": {"request": {
    "type": "object", "required": ["identity"], "properties": {"identity": ref("IdentityImport")}}}}
_IMPORT_EXAMPLE = {"request": {"identity": {
    "provider": "twitter", "access_token": "AAAA...", "refresh_token": "BBBB...", "expires_in": 7200,
    "provider_user_id": "42", "profile": {"name": "Ada", "location": "London"}}}}
_TEXT = "text/plain"

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/push/requests.json", "requests", "List push requests",
              "This site's push requests, newest first, with filters and pagination.",
              ok=(200, "RequestList"), errors=(400, 401, 500),
              params=(query("identity_token", {"type": "string"}, "Only this identity's requests."),
                      query("provider", {"type": "string", "enum": list(PROVIDERS)}, "Only this provider."),
                      query("state", {"type": "string", "enum": list(STATES)},
                            "Only requests in this state; `waiting` lists scheduled and parked pushes with "
                            "`waiting.until` and `waiting.reason`."),
                      *PAGING),
              data_example={"requests": {"pagination": {"current_page": 1, "per_page": 50, "total_entries": 1},
                                         "entries": [SUMMARY_EXAMPLE]}}),
    Operation("get", "/push/requests/{token}.json", "requests", "Show a push request with its audit",
              "The state, provider ids, result and the full audit: every stage attempt (start, end, outcome, "
              "reason, bytes moved), every callback delivery attempt and every state transition.",
              ok=(200, "RequestData"), errors=(401, 404, 500), params=(_TOKEN,),
              data_example={"request": DETAIL_EXAMPLE}),
    Operation("delete", "/push/requests/{token}.json", "requests", "Cancel (or delete) a push request",
              "Cancels a push whose publish step has not started: `queued`, `staging` (its video is being "
              "fetched) or `waiting` (scheduled with `publish_at`, or parked on a provider's quota or rate "
              "limit) and nothing created at the provider yet; it then reaches no provider. A request past "
              "that point answers 409 `not_cancellable`, except that a finished video push is deleted at the "
              "provider where the provider allows it.",
              ok=(200, "CancelData"), errors=(401, 404, 409, 500, 502), params=(_TOKEN,),
              data_example={"request": {**SUMMARY_EXAMPLE, "state": "cancelled", "outcome": None}}),
    Operation("get", "/identities.json", "identities", "List identities",
              "This site's identities (never their tokens), paginated.",
              ok=(200, "IdentityList"), errors=(400, 401, 500), params=PAGING,
              data_example={"identities": {"pagination": {"current_page": 1, "per_page": 50, "total_entries": 1},
                                           "entries": [IDENTITY_EXAMPLE]}}),
    Operation("post", "/identities.json", "identities", "Import an identity",
              "Import tokens the site already holds for one user's account. Creating answers 201; "
              "re-importing the same provider account updates it and answers 200.",
              ok=(201, "IdentityData"), errors=(400, 401, 413, 500), body=_IMPORT, body_example=_IMPORT_EXAMPLE,
              data_example={"identity": IDENTITY_EXAMPLE}, extra={"also_ok": 200}),
    Operation("get", "/identities/{token}.json", "identities", "Show an identity",
              "One identity of this site, without its tokens.",
              ok=(200, "IdentityData"), errors=(401, 404, 500), params=(_IDENTITY,),
              data_example={"identity": IDENTITY_EXAMPLE}),
    Operation("delete", "/identities/{token}.json", "identities", "Delete an identity",
              "Requires `confirm_deletion=true`; without it the answer is 400.",
              ok=(200, "IdentityDeleted"), errors=(400, 401, 404, 500),
              params=(_IDENTITY, query("confirm_deletion", {"type": "string", "enum": ["true"]},
                                       "Must be `true`.", required=True)),
              data_example={"identity": {"identity_token": IDENTITY_TOKEN, "deleted": True}}),
    Operation("put", "/identities/{token}/synchronize.json", "identities", "Synchronize an identity",
              "Refreshes the access token through the provider when it has expired (or when forced).",
              ok=(200, "IdentityData"), errors=(400, 401, 403, 404, 409, 429, 500, 501, 502), params=(_IDENTITY,),
              body=_SYNC, body_example={"request": {"synchronize": {"update_user_data": True,
                                                                    "force_token_update": False}}},
              data_example={"identity": IDENTITY_EXAMPLE}, extra={"body_optional": True}),
    Operation("get", "/stream/api/", "stream", "Stream API (Twitvid-compatible)",
              "A standing connection: one JSON object per line (`\\r\\n`), or XML elements, with keep-alive "
              "blank lines. Parameters `token` (the site's stream key), `events` (`upload|delete|comment`), "
              "`format` (`json` or `xml`), `since` (resume after an event id).",
              ok=(200, None), errors=(429,), public=True, media=_TEXT,
              params=(query("token", {"type": "string"}, "The site's stream key.", required=True),
                      query("events", {"type": "string"}, "upload, delete, comment or a |-combination."),
                      query("format", {"type": "string", "enum": ["json", "xml"]}, "json (default) or xml."),
                      query("since", {"type": "integer", "minimum": 0}, "Replay events after this id."))),
    Operation("get", "/healthz", "operations", "Liveness", "200 while the process serves requests.",
              ok=(200, None), errors=(), public=True, media=_TEXT),
    Operation("get", "/readyz", "operations", "Readiness",
              "200 when the database, broker and staging store answer, 503 otherwise.",
              ok=(200, None), errors=(503,), public=True, media=_TEXT),
    Operation("get", "/metrics", "operations", "Prometheus metrics", "Prometheus text exposition format.",
              ok=(200, None), errors=(), public=True, media=_TEXT),
    Operation("get", "/openapi.json", "documentation", "This OpenAPI document", ok=(200, None), errors=(),
              public=True),
    Operation("get", "/docs", "documentation", "API documentation (HTML)", ok=(200, None), errors=(),
              public=True, media="text/html"),
)


def find(method: str, path: str) -> Operation | None:
    """The table's row for (method, OpenAPI path), or None."""
    for operation in OPERATIONS:
        if operation.method == method and operation.path == path:
            return operation
    return None
