"""MkDocs hook: the scenario reference, generated at build time from the pydantic schema.

``on_page_markdown`` replaces the marker ``<!-- scenario-reference -->`` with one section per model of
``leanflow.scenario.schema`` (every definition of ``Scenario.model_json_schema()``, in the order a reader
meets them from the top of a scenario file): its docstring, then one row per field with its type, default,
constraints and description. Nothing here is hand-written about the fields, so the page cannot drift from
the schema the loader validates against.
"""

from __future__ import annotations

import json
import re
from typing import Any

MARKER = "<!-- scenario-reference -->"
REF = "#/$defs/"
BOUNDS = (("exclusiveMinimum", "> {}"), ("minimum", "≥ {}"), ("exclusiveMaximum", "< {}"), ("maximum", "≤ {}"))
SIZES = (("minLength", "maxLength", "characters"), ("minItems", "maxItems", "items"),
         ("minProperties", "maxProperties", "entries"))  # fmt: skip


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Put the generated reference where the page has the marker."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())


def render() -> str:
    """The reference as markdown: the Scenario model first, then every model it refers to."""
    from leanflow.scenario.schema import Scenario

    schema = Scenario.model_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    root = schema.get("title", "Scenario")
    order = _reading_order(schema, defs)
    order += sorted(set(defs) - set(order))  # anything not reachable (none today), still documented
    parts = [_section(root, schema)] + [_section(name, defs[name]) for name in order if name != root]
    return "\n\n".join(parts) + "\n"


def _reading_order(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """Definition names breadth first from the root, each field's references in field order."""
    seen: list[str] = []
    queue = [schema]
    while queue:
        node = queue.pop(0)
        for name in _refs(node.get("properties", {})):
            if name not in seen and name in defs:
                seen.append(name)
                queue.append(defs[name])
    return seen


def _refs(node: Any) -> list[str]:
    """Every ``$ref`` name in a schema fragment, in document order."""
    if isinstance(node, dict):
        out = [node["$ref"].removeprefix(REF)] if isinstance(node.get("$ref"), str) else []
        for key, value in node.items():
            if key != "$ref":
                out += _refs(value)
        return out
    if isinstance(node, list):
        return [name for item in node for name in _refs(item)]
    return []


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _section(name: str, model: dict[str, Any]) -> str:
    """One model: heading, docstring, field table."""
    lines = [f"## {name} {{ #{_anchor(name)} }}", ""]
    if model.get("description"):
        lines += [_clean(model["description"], table=False), ""]
    props: dict[str, Any] = model.get("properties", {})
    if not props:
        return "\n".join([*lines, "No fields."])
    required = set(model.get("required", []))
    lines += ["| field | type | default | constraints | description |", "| --- | --- | --- | --- | --- |"]
    for field, node in props.items():
        default = "**required**" if field in required else _default(node)
        row = [f"`{field}`", _type(node), default, "; ".join(_constraints(node)), _clean(node.get("description", ""))]
        lines.append("| " + " | ".join(cell or "" for cell in row) + " |")
    if model.get("additionalProperties") is False:
        lines += ["", "Any other key is an error."]
    return "\n".join(lines)


def _default(node: dict[str, Any]) -> str:
    if "default" in node:
        return f"`{json.dumps(node['default'])}`"
    if "$ref" in node:  # a default_factory model: every one of its fields at its own default
        return f"the defaults of [{node['$ref'].removeprefix(REF)}](#{_anchor(node['$ref'].removeprefix(REF))})"
    if node.get("type") in ("array", "object"):
        return "empty"
    return "optional"


def _type(node: dict[str, Any]) -> str:
    """A schema fragment's type in words, with links to the models it names."""
    if "$ref" in node:
        name = node["$ref"].removeprefix(REF)
        return f"[{name}](#{_anchor(name)})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " or ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "oneOf" in node:  # a tagged union: the tag field picks the model
        tag = node.get("discriminator", {}).get("propertyName")
        head = f"one of (by `{tag}`): " if tag else "one of: "
        return head + ", ".join(_type(option) for option in node["oneOf"])
    if "anyOf" in node:
        options = [_type(option) for option in node["anyOf"] if option.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        return " or ".join(options) + (", or `null`" if nullable else "")
    kind = node.get("type")
    if kind == "array":
        return f"list of {_type(node.get('items', {}))}"
    if kind == "object":
        values = node.get("patternProperties") or {}
        inner = next(iter(values.values()), node.get("additionalProperties"))
        return f"map of name → {_type(inner)}" if isinstance(inner, dict) else "map"
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind or "any"


def _constraints(node: dict[str, Any]) -> list[str]:
    """The bounds a value must meet (of the non-null alternative when it may be null)."""
    out = [text.format(_number(node[key])) for key, text in BOUNDS if key in node]
    for low, high, unit in SIZES:
        if low in node and high in node:
            a, b = _number(node[low]), _number(node[high])
            out.append(f"exactly {a} {unit}" if a == b else f"{a} to {b} {unit}")
        elif low in node:
            out.append(f"at least {_number(node[low])} {unit}")
        elif high in node:
            out.append(f"at most {_number(node[high])} {unit}")
    if "pattern" in node:
        out.append(f"matches `{node['pattern']}`")
    for pattern in node.get("patternProperties") or {}:
        out.append(f"names match `{pattern}`")
    names = node.get("propertyNames") or {}
    if "maxLength" in names:
        out.append(f"names at most {names['maxLength']} characters")
    items = node.get("items")
    if isinstance(items, dict) and "$ref" not in items:
        out += [f"each {c}" for c in _constraints(items)]
    for option in node.get("anyOf", []):
        if option.get("type") != "null" and "$ref" not in option:
            out += _constraints(option)
    return out


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _clean(text: str, table: bool = True) -> str:
    """A docstring or description as markdown (one line, pipes escaped, inside a table)."""
    text = text.strip()
    if table:
        text = " ".join(text.split()).replace("|", "\\|")
    return text
