"""Issue row 14: characters XML 1.0 does not allow never reach a stream line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.stream.render import element_line

BAD = "\x00\x08\x0b\x1b\ud800\udfff\ufffe\uffff"


@pytest.mark.parametrize("where", ["text", "user_name", "comment"])
def test_every_element_drops_characters_xml_forbids(where):
    body = {"comment": {"guid": "1", "comment": "ok", "user": {"name": "n", "location": "l"}, "text": "t"}}
    value = f"a{BAD}b\U0001F600c\u00e9\n"
    if where == "text":
        body["comment"]["text"] = value
    elif where == "user_name":
        body["comment"]["user"]["name"] = value
    else:
        body["comment"]["comment"] = value
    line = element_line(7, body, "xml")
    assert line.endswith(b"\r\n") and line.count(b"\r\n") == 1
    root = ET.fromstring(line[:-2].decode("utf-8", "surrogatepass"))  # before: U+FFFE/U+FFFF made it invalid
    texts = [el.text for el in root.iter() if el.text and el.text.startswith("a")]
    assert texts == ["ab\U0001F600c\u00e9\n"]
