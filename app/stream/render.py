"""Stream elements as lines: JSON objects ending ``\\r\\n``, or one XML element per line.

``element_line(event_id, body, fmt)`` renders a stored event body such as
``{"video": {...}}``; ``error_line(code, fmt)`` renders the contract's error
element. XML is built with ElementTree, so any text (``<``, ``&``, quotes, line
breaks) is escaped and every line parses on its own.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

FORMATS = ("json", "xml")
KEEPALIVE = b"\r\n"
XML_DECL = "<?xml version='1.0' encoding='UTF-8'?>"

ERRORS = {
    1001: (401, "Invalid or expired token"),
    1002: (401, "Missing token"),
    1003: (400, "Invalid events parameter: use upload, delete, comment or a |-combination"),
    1004: (400, "Invalid format: use json or xml"),
    1005: (409, "Connection replaced by a newer connection with the same token"),
    1006: (429, "Banned for excessive connection attempts; retry later"),
    1007: (400, "Invalid since parameter: use a whole event id"),
    1008: (429, "Too many open streams for this key or address; close one first"),
    1009: (503, "Streams are not served here; connect to the stream endpoint"),
    1010: (503, "Stream temporarily unavailable; retry shortly"),
}


def element_line(event_id: int, body: dict, fmt: str) -> bytes:
    """One event as a line in ``fmt``."""
    if fmt == "xml":
        (tag, node), = body.items()
        root = ET.Element(tag, {"id": str(event_id)})
        _fill(root, node)
        return _xml_line(root)
    return (json.dumps({"id": event_id, **body}, ensure_ascii=False, separators=(",", ":")) + "\r\n").encode()


def error_line(code: int, fmt: str) -> bytes:
    """The error element: ``{"rsp": {"status": "fail", "err": {...}}}`` or ``<rsp status='fail'>``."""
    msg = ERRORS[code][1]
    if fmt == "xml":
        # Written out, not serialised, to match the contract's single-quoted sample
        # byte for byte; the messages are our own constants without quotes or markup.
        return f"{XML_DECL}<rsp status='fail'><err code='{code}' msg='{msg}'/></rsp>\r\n".encode()
    return (json.dumps({"rsp": {"status": "fail", "err": {"code": code, "msg": msg}}}) + "\r\n").encode()


def error_status(code: int) -> int:
    return ERRORS[code][0]


def content_type(fmt: str) -> str:
    return "application/xml; charset=utf-8" if fmt == "xml" else "application/json; charset=utf-8"


def _fill(parent: ET.Element, node) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _fill(ET.SubElement(parent, key), value)
    elif node is not None:
        parent.text = _clean(str(node))


# Everything outside XML 1.0's Char production: C0 controls but tab/LF/CR, lone
# surrogates, U+FFFE and U+FFFF. Such characters are invalid even as references.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    # Third-party text (titles, comments, names) may carry any of them; they are
    # removed so every line stays valid XML. A newline would also break "one
    # element per line", so it travels as a character reference (see _xml_line).
    return _NOT_XML_CHAR.sub("", text)


def _xml_line(root: ET.Element) -> bytes:
    text = ET.tostring(root, encoding="unicode")
    return (text.replace("\n", "&#10;").replace("\r", "&#13;") + "\r\n").encode()
