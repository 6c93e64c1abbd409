"""Turn the OpenAPI document into what the ``/docs`` template shows.

``sections(spec, base_url)`` returns, per tag, the operations with their
method, path, description, body field rows, a curl example and an example answer.
"""

from __future__ import annotations

import json
import shlex

METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "delete": 3}


def sections(spec: dict, base_url: str) -> list[dict]:
    """``[{"tag": ..., "operations": [...]}, ...]`` in the spec's tag order."""
    schemas = spec["components"]["schemas"]
    by_tag: dict[str, list[dict]] = {t["name"]: [] for t in spec.get("tags", [])}
    for path, methods in spec["paths"].items():
        for method, op in sorted(methods.items(), key=lambda kv: METHOD_ORDER.get(kv[0], 9)):
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(path, method, op, schemas, base_url))
    return [{"tag": tag, "operations": ops} for tag, ops in by_tag.items() if ops]


def _operation(path: str, method: str, op: dict, schemas: dict, base_url: str) -> dict:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ok_code, ok_example = _first_example(op.get("responses", {}))
    return {
        "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").replace(".", "-"),
        "method": method.upper(), "path": path, "summary": op.get("summary", ""),
        "description": op.get("description", ""),
        "public": op.get("security") == [],
        "params": [p for p in op.get("parameters", [])],
        "fields": _fields(body.get("schema"), schemas) if body else [],
        "curl": _curl(method, path, op, body.get("example"), base_url),
        "answer_code": ok_code,
        "answer": json.dumps(ok_example, indent=2) if ok_example is not None else None,
        "codes": [(code, resp.get("description", "")) for code, resp in op.get("responses", {}).items()],
    }


def _first_example(responses: dict) -> tuple[str | None, object]:
    for code, resp in responses.items():
        for media in resp.get("content", {}).values():
            if "example" in media:
                return code, media["example"]
    return None, None


def _resolve(schema: dict, schemas: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema


def _model_in(schema: dict | None, schemas: dict) -> dict | None:
    """The first referenced model inside a body envelope (the object the client fills in)."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _resolve(schema, schemas)
    for child in schema.get("properties", {}).values():
        found = _model_in(child, schemas)
        if found:
            return found
    return None


def _fields(body_schema: dict | None, schemas: dict, prefix: str = "") -> list[dict]:
    model = _model_in(body_schema, schemas)
    if not model:
        return []
    rows = []
    required = set(model.get("required", []))
    for name, prop in model.get("properties", {}).items():
        resolved = _resolve(prop, schemas)
        rows.append({"name": prefix + name, "type": _type(prop, schemas), "required": name in required,
                     "rules": _rules(prop), "description": prop.get("description", "")})
        if "$ref" in prop and resolved.get("properties") and not prefix:
            rows.extend(_fields({"$ref": prop["$ref"]}, schemas, prefix=f"{name}."))
    return rows


def _variants(prop: dict) -> list[dict]:
    return [v for v in prop.get("anyOf", [prop]) if v.get("type") != "null"]


def _type(prop: dict, schemas: dict) -> str:
    kinds = []
    for variant in _variants(prop):
        if "$ref" in variant:
            kinds.append("object")
        elif variant.get("type") == "array":
            kinds.append(f"list of {variant.get('items', {}).get('type', 'values')}")
        else:
            kinds.append(str(variant.get("type", "any")))
    return " or ".join(kinds) or "any"


def _rules(prop: dict) -> str:
    words = []
    names = {"minLength": "min length", "maxLength": "max length", "minimum": "min", "maximum": "max",
             "exclusiveMinimum": "greater than", "pattern": "pattern", "maxItems": "at most items",
             "enum": "one of"}
    for variant in _variants(prop):
        for key, label in names.items():
            if key in variant:
                value = variant[key]
                value = ", ".join(map(str, value)) if isinstance(value, list) else value
                words.append(f"{label} {value}")
        items = variant.get("items", {})
        if "pattern" in items:
            words.append(f"items match {items['pattern']}")
    if "default" in prop and prop["default"] is not None and not isinstance(prop["default"], dict):
        words.append(f"default {json.dumps(prop['default'])}")
    return "; ".join(words)


def _curl(method: str, path: str, op: dict, example, base_url: str) -> str:
    url_path = path
    query = []
    for param in op.get("parameters", []):
        value = str(param.get("example", "true" if param["in"] == "query" else "VALUE"))
        if param["in"] == "path":
            url_path = url_path.replace("{%s}" % param["name"], value)
        elif param["in"] == "query" and param.get("required"):
            query.append(f"{param['name']}={value}")
    url = base_url.rstrip("/") + url_path + ("?" + "&".join(query) if query else "")
    parts = ["curl"]
    if op.get("security") != []:
        parts += ["-u", "$PUBLIC_KEY:$PRIVATE_KEY"]
    if method != "get":
        parts += ["-X", method.upper()]
    parts.append(shlex.quote(url))
    if example is not None:
        parts += ["-H", "'Content-Type: application/json'", "-d", shlex.quote(json.dumps(example, indent=1))]
    return " \\\n  ".join(" ".join(parts[i:i + 2]) if parts[i].startswith("-") else parts[i]
                          for i in _starts(parts))


def _starts(parts: list[str]):
    """Indexes where a new curl line starts (an option with its value, or a lone word)."""
    i = 0
    while i < len(parts):
        yield i
        i += 2 if parts[i].startswith("-") else 1
