"""JSON Schemas of the OneAll envelopes and of the ``result.data`` each resource answers.

``success(data_ref)`` and ``ERROR`` are what every operation's responses point
at; ``component_schemas()`` is the ``components.schemas`` block they reference.
"""

from __future__ import annotations

from app.identities.schemas import PROVIDERS
from app.states import STATES

REF = "#/components/schemas/{model}"


def ref(name: str) -> dict:
    return {"$ref": REF.format(model=name)}


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def _obj(properties: dict, required: tuple = (), closed: bool = False, **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


STR, INT = {"type": "string"}, {"type": "integer"}
NSTR, NINT = _nullable("string"), _nullable("integer")


def _status(flag: str) -> dict:
    props = {"flag": {"const": flag}, "code": INT, "info": STR, "reason": STR}
    return _obj(props, ("flag", "code", "info"))


def _request_node(flag: str) -> dict:
    return _obj({"date": {"type": "string", "description": "RFC 2822"}, "resource": STR,
                 "status": _status(flag)}, ("date", "resource", "status"))


def success(data: dict) -> dict:
    """A success envelope whose ``result.data`` is ``data`` (a schema or a $ref)."""
    return _obj({"response": _obj({
        "request": ref("SuccessRequestNode"),
        "result": _obj({"data": data}, ("data",)),
    }, ("request", "result"))}, ("response",))


ERROR = ref("ErrorEnvelope")

_PAGINATION = _obj({"current_page": INT, "per_page": INT, "total_entries": INT},
                   ("current_page", "per_page", "total_entries"))

_STAGE = _obj({
    "stage": STR, "attempt": INT, "outcome": STR, "started_at": NSTR, "ended_at": NSTR,
    "bytes_moved": NINT, "progress_at": NSTR, "error_reason": NSTR, "error_info": NSTR, "retry_at": NSTR,
}, ("stage", "attempt", "outcome"))

_CALLBACK = _obj({
    "attempt": INT, "webhook_id": STR, "at": NSTR, "status_code": NINT, "outcome": STR,
    "error": NSTR, "duration_ms": NINT, "next_attempt_at": NSTR,
}, ("attempt", "outcome"))

_TRANSITION = _obj({"from": NSTR, "to": STR, "at": NSTR, "reason": NSTR}, ("to",))

_SUMMARY = _obj({
    "request_token": STR, "identity_token": NSTR, "provider": STR, "kind": STR, "resource": STR,
    "state": {"type": "string", "enum": list(STATES)}, "outcome": NSTR,
    "provider_ids": {"type": "object"}, "date_creation": NSTR, "date_last_update": NSTR,
    "date_finished": NSTR,
    "error": _obj({"code": NINT, "reason": NSTR, "info": NSTR}),
    "publish_at": {"type": "string", "description": "A scheduled push's time (RFC 3339, UTC)."},
    "waiting": _obj({"until": NSTR, "reason": NSTR, "info": NSTR, "resumes": NSTR},
                    description="Only in state `waiting`: until when (`resume_at`), why (`scheduled`, "
                                "`quota_exceeded`, `rate_limited`, `daily_limit_reached`, `usage_capped`, ...), "
                                "and the stage that runs then (`stage`: the download, or `upload`: the publish)."),
}, ("request_token", "provider", "state"))

_DETAIL = {"allOf": [ref("RequestSummary"), _obj({
    "result": _nullable("object"),
    "callback": {"type": "object"},
    "audit": _obj({"media": {**_nullable("object"), "description": (
                       "Video: the probe of the staged file (container, codecs, size, duration, ...), the "
                       "decision (pass, remux, transcode or refuse) with its why, the transcode's percent "
                       "done and the output's probe. Pictures: each picture's probe and conversion.")},
                   "stages": {"type": "array", "items": ref("StageAttempt")},
                   "callbacks": {"type": "array", "items": ref("CallbackAttempt")},
                   "transitions": {"type": "array", "items": ref("Transition")}},
                  ("stages", "callbacks", "transitions")),
}, ("audit",))]}

_IDENTITY = _obj({
    "identity_token": STR, "provider": {"type": "string", "enum": list(PROVIDERS)},
    "provider_user_id": STR, "profile": {"type": "object"}, "token_expires_at": NSTR,
    "has_refresh_token": {"type": "boolean"}, "date_creation": NSTR, "date_last_update": NSTR,
}, ("identity_token", "provider"))

_PUSH_DATA = _obj({
    "object": {"type": "string", "enum": ["post", "picture", "video", "pin", "playlist", "section"]},
    "request_token": STR,
    "result": {"type": "string", "description": "Set while the work is queued or in progress."},
    "publish_at": {"type": "string", "description": "A scheduled push: when its publish step runs (UTC)."},
    "provider": STR, "date_creation": STR, "url": STR, "thumbnail_url": STR,
    "post_id": STR, "picture_id": STR, "video_id": STR, "pin_id": STR, "playlist_id": STR, "section_id": STR,
}, ("request_token",), description="Queued answer (`result` text) or, when the provider answered "
                                    "within the bound, the provider's ids, `date_creation` and `url`.")


def component_schemas() -> dict:
    """The shared ``components.schemas`` (envelopes, audit rows, identities)."""
    return {
        "SuccessRequestNode": _request_node("success"),
        "ErrorEnvelope": _obj({"response": _obj({"request": _request_node("error")}, ("request",), closed=True)},
                              ("response",), description="No `result` node; `status.reason` is machine-readable."),
        "Pagination": _PAGINATION,
        "StageAttempt": _STAGE,
        "CallbackAttempt": _CALLBACK,
        "Transition": _TRANSITION,
        "RequestSummary": _SUMMARY,
        "RequestDetail": _DETAIL,
        "Identity": _IDENTITY,
        "PushData": _PUSH_DATA,
        "RequestData": _obj({"request": ref("RequestDetail")}, ("request",)),
        "CancelData": _obj({"request": ref("RequestSummary")}, ("request",)),
        "RequestList": _obj({"requests": _obj({"pagination": ref("Pagination"), "entries": {
            "type": "array", "items": ref("RequestSummary")}}, ("pagination", "entries"))}, ("requests",)),
        "IdentityData": _obj({"identity": ref("Identity")}, ("identity",)),
        "IdentityList": _obj({"identities": _obj({"pagination": ref("Pagination"), "entries": {
            "type": "array", "items": ref("Identity")}}, ("pagination", "entries"))}, ("identities",)),
        "IdentityDeleted": _obj({"identity": _obj({"identity_token": STR, "deleted": {"const": True}},
                                                  ("identity_token", "deleted"))}, ("identity",)),
    }


# -- examples -----------------------------------------------------------------
DATE = "Tue, 23 Apr 2019 09:36:28 +0200"
IDENTITY_TOKEN = "0c3a1f5e-7b8d-4c2a-9e61-3f1d2b4a5c6d"
REQUEST_TOKEN = "5f0c9d7e-2a41-4b8e-8c3f-1d2e3f4a5b6c"


def success_example(resource: str, data: dict, code: int = 200, info: str | None = None) -> dict:
    status = {"flag": "success", "code": code, "info": info or "Your request has been processed successfully"}
    return {"response": {"request": {"date": DATE, "resource": resource, "status": status},
                         "result": {"data": data}}}


def error_example(resource: str, code: int, info: str, reason: str) -> dict:
    status = {"flag": "error", "code": code, "info": info, "reason": reason}
    return {"response": {"request": {"date": DATE, "resource": resource, "status": status}}}


SUMMARY_EXAMPLE = {
    "request_token": REQUEST_TOKEN, "identity_token": IDENTITY_TOKEN, "provider": "twitter",
    "kind": "video", "resource": f"/push/identities/{IDENTITY_TOKEN}/twitter/video.json",
    "state": "succeeded", "outcome": "succeeded", "provider_ids": {"media_id": "1120592651986796544"},
    "date_creation": "2019-04-23T07:36:02+00:00", "date_last_update": "2019-04-23T07:36:29+00:00",
    "date_finished": "2019-04-23T07:36:29+00:00",
}

DETAIL_EXAMPLE = {**SUMMARY_EXAMPLE, "result": {
    "provider": "twitter", "object": "video", "video_id": "1120592651986796544", "date_creation": DATE},
    "callback": {"url": "https://example.com/pushwire-callback", "webhook_id": "msg_2b1c", "attempts": 1,
                 "next_attempt_at": None},
    "audit": {
        "media": {"network": "twitter", "spec": "X", "percent": 100.0, "done": True,
                  "probe": {"format": "avi", "container": "avi", "duration": 12.5, "size": 5255245,
                            "video": {"codec": "mpeg4", "pix_fmt": "yuv420p", "width": 640, "height": 360,
                                      "fps": 25.0},
                            "audio": {"codec": "mp3", "sample_rate": 44100, "channels": 2}},
                  "decision": {"action": "transcode", "why": ["X does not take mpeg4 video",
                                                              "X does not take mp3 audio",
                                                              "X does not take the avi container"]}},
        "stages": [
            {"stage": "stage", "attempt": 1, "outcome": "succeeded", "started_at": "2019-04-23T07:36:02+00:00",
             "ended_at": "2019-04-23T07:36:05+00:00", "bytes_moved": 5255245, "progress_at": None,
             "error_reason": None, "error_info": None, "retry_at": None},
            {"stage": "upload", "attempt": 1, "outcome": "retrying", "started_at": "2019-04-23T07:36:05+00:00",
             "ended_at": "2019-04-23T07:36:09+00:00", "bytes_moved": 2097152, "progress_at": None,
             "error_reason": "rate_limited", "error_info": "X asked us to slow down; retrying in 1 s.",
             "retry_at": "2019-04-23T07:36:10+00:00"},
            {"stage": "upload", "attempt": 2, "outcome": "succeeded", "started_at": "2019-04-23T07:36:10+00:00",
             "ended_at": "2019-04-23T07:36:28+00:00", "bytes_moved": 5255245, "progress_at": None,
             "error_reason": None, "error_info": None, "retry_at": None}],
        "callbacks": [{"attempt": 1, "webhook_id": "msg_2b1c", "at": "2019-04-23T07:36:29+00:00",
                       "status_code": 204, "outcome": "delivered", "error": None, "duration_ms": 41,
                       "next_attempt_at": None}],
        "transitions": [{"from": None, "to": "queued", "at": "2019-04-23T07:36:02+00:00", "reason": "accepted"},
                        {"from": "queued", "to": "staging", "at": "2019-04-23T07:36:02+00:00", "reason": None}],
    }}

IDENTITY_EXAMPLE = {
    "identity_token": IDENTITY_TOKEN, "provider": "twitter", "provider_user_id": "42",
    "profile": {"name": "Ada", "location": "London"}, "token_expires_at": "2019-04-23T09:36:02+00:00",
    "has_refresh_token": True, "date_creation": "2019-04-23T07:36:02+00:00",
    "date_last_update": "2019-04-23T07:36:02+00:00",
}
