"""Graph API error bodies (reference §2.6): ``{"error": {message, type, code, ...}}``.

Views raise ``GraphError``; the API layer turns it into a response. Facebook sends
most errors as HTTP 400 and classifies them by ``code``/``error_subcode`` in the body,
so the HTTP status here is secondary. Builders below cover the codes the fake uses.
"""

from __future__ import annotations

import secrets

from flask import Response, jsonify


class GraphError(Exception):
    """One Graph API error answer."""

    def __init__(self, code: int, message: str, *, status: int = 400, subcode: int | None = None,
                 type_: str = "OAuthException", transient: bool = False, user_title: str | None = None,
                 user_msg: str | None = None, error_data: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.headers = status, dict(headers or {})
        body = {"message": message, "type": type_, "code": code, "is_transient": transient,
                "fbtrace_id": "A" + secrets.token_hex(10)}
        if subcode is not None:
            body["error_subcode"] = subcode
        if user_title:
            body["error_user_title"] = user_title
        if user_msg:
            body["error_user_msg"] = user_msg
        if error_data is not None:
            body["error_data"] = error_data
        self.body = {"error": body}

    @property
    def code(self) -> int:
        return self.body["error"]["code"]

    def response(self) -> Response:
        resp = jsonify(self.body)
        resp.status_code = self.status
        resp.headers.update(self.headers)
        # Facebook marks auth failures in this header too.
        if self.code in (190, 102, 104):
            resp.headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{self.body["error"]["message"]}"'
        return resp


def bad_param(message: str, subcode: int | None = None, **kw) -> GraphError:
    return GraphError(100, f"(#100) {message}", subcode=subcode, **kw)


def unknown_object(node: str, method: str) -> GraphError:
    verb = "post" if method == "POST" else ("delete" if method == "DELETE" else "get")
    return GraphError(
        100,
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        subcode=33, type_="GraphMethodException",
    )


def no_token() -> GraphError:
    return GraphError(104, "An access token is required to request this resource.")


def invalid_token() -> GraphError:
    return GraphError(190, "Invalid OAuth access token - Cannot parse access token", status=401)


def expired_token() -> GraphError:
    return GraphError(190, "Error validating access token: Session has expired.", status=401, subcode=463)


def dead_token() -> GraphError:
    return GraphError(
        190, "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.", status=401, subcode=460)


def permission(message: str, code: int = 200) -> GraphError:
    return GraphError(code, f"(#{code}) {message}", status=403)


def profile_retired() -> GraphError:
    return permission("The permission(s) publish_actions are not available. It could because either they are "
                      "deprecated or need to be approved by App Review.")


def groups_retired() -> GraphError:
    return permission("The permission(s) publish_to_groups are not available. It could because either they are "
                      "deprecated or need to be approved by App Review.")


def throttled(code: int, minutes: int, headers: dict | None = None) -> GraphError:
    messages = {4: "Application request limit reached", 17: "User request limit reached",
                32: "Page request limit reached", 613: "Calls to this api have exceeded the rate limit."}
    return GraphError(code, f"(#{code}) {messages.get(code, 'Request limit reached')}",
                      transient=True, headers=headers)


def server_error(status: int) -> GraphError:
    if status == 500:
        return GraphError(1, "An unknown error has occurred.", status=500, transient=True)
    return GraphError(2, "An unexpected error has occurred. Please retry your request later.",
                      status=status, transient=True)


def upload_transient(subcode: int) -> GraphError:
    return GraphError(6000, "There was a problem uploading your video file. Please try again.",
                      subcode=subcode, transient=True, user_title="Upload failed",
                      user_msg="There was a problem uploading your video. Please try again.")


def upload_resync(start: int, end: int) -> GraphError:
    """Flagged ``is_transient`` as Facebook does: a client that retries on that flag
    before reading the subcode resends the wrong window forever (the official SDK
    checks 1363037 first)."""
    return GraphError(6001, "There was a problem uploading your video file. Please try again with another file.",
                      subcode=1363037, transient=True, user_title="Incorrect chunk offset",
                      user_msg="The chunk offset does not match the upload session; resume from the given offset.",
                      error_data={"start_offset": str(start), "end_offset": str(end)})


def video_size(subcode: int, message: str) -> GraphError:
    return GraphError(6000, "There was a problem uploading your video file. Please try again with another file.",
                      subcode=subcode, user_title="Video size", user_msg=message)
