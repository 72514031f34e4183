"""Index mappings: parsing ``mappings`` JSON into flat field definitions, dynamic mapping, value parsing."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from .analysis import get_analyzer
from .dates import DEFAULT_FORMAT, parse_date
from .errors import OpenSearchError, illegal_argument, mapper_parsing

NUMERIC_TYPES = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
SPACE_TYPES = {"l2", "l1", "linf", "cosinesimil", "innerproduct", "hamming"}
LEAF_TYPES = NUMERIC_TYPES | {"text", "keyword", "date", "boolean", "knn_vector", "match_only_text"}
_DATE_DETECTION_FORMATS = "strict_date_optional_time||yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"


@dataclass
class FieldDef:
    """One indexed leaf field (multi-fields such as ``content.keyword`` are leaves of their own)."""

    path: str
    type: str
    analyzer: str = "standard"
    search_analyzer: str = "standard"
    ignore_above: int | None = None
    date_format: str = DEFAULT_FORMAT
    dimension: int = 0
    space_type: str = "l2"
    index: bool = True
    source_path: str = ""  # the source path values come from (differs for multi-fields)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES or self.type == "date"


@dataclass
class Mapping:
    """The mapping JSON as the user sees it plus the flat table of leaf fields."""

    properties: dict[str, Any] = field(default_factory=dict)
    dynamic: Any = True
    fields: dict[str, FieldDef] = field(default_factory=dict)
    knn_enabled: bool = False

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.dynamic is not True:
            body["dynamic"] = self.dynamic
        if self.properties:
            body["properties"] = copy.deepcopy(self.properties)
        return body


def _parse_leaf(path: str, spec: dict[str, Any], knn_enabled: bool, source_path: str) -> FieldDef:
    ftype = spec.get("type", "object")
    fd = FieldDef(path=path, type=ftype, source_path=source_path)
    if ftype in ("text", "match_only_text"):
        fd.analyzer = spec.get("analyzer", "standard")
        fd.search_analyzer = spec.get("search_analyzer", fd.analyzer)
        get_analyzer(fd.analyzer)
        get_analyzer(fd.search_analyzer)
    elif ftype == "keyword":
        fd.ignore_above = spec.get("ignore_above")
    elif ftype == "date":
        fd.date_format = spec.get("format", DEFAULT_FORMAT)
    elif ftype == "knn_vector":
        dim = spec.get("dimension")
        if not isinstance(dim, int) or dim <= 0:
            raise mapper_parsing(f"Dimension value missing for vector: {path}")
        fd.dimension = dim
        method = spec.get("method") or {}
        space = method.get("space_type", spec.get("space_type", "l2"))
        if space not in SPACE_TYPES:
            raise mapper_parsing(
                f"Unable to parse mapping into knn_vector field [{path}]: Unsupported space type: {space}"
            )
        if method and method.get("name", "hnsw") not in ("hnsw", "ivf"):
            raise mapper_parsing(f"Invalid method name: {method.get('name')}")
        fd.space_type = space
    elif ftype not in LEAF_TYPES:
        raise mapper_parsing(f"No handler for type [{ftype}] declared on field [{path}]")
    fd.index = spec.get("index", True) is not False
    return fd


def parse_mapping(body: dict[str, Any] | None, knn_enabled: bool) -> Mapping:
    mapping = Mapping(knn_enabled=knn_enabled)
    if not body:
        return mapping
    if not isinstance(body, dict):
        raise mapper_parsing("Failed to parse mapping: mapping must be an object")
    for key in body:
        if key not in ("properties", "dynamic", "_source", "_routing", "date_detection", "_meta", "dynamic_templates"):
            raise mapper_parsing(f"Root mapping definition has unsupported parameters:  [{key} : {body[key]}]")
    mapping.dynamic = body.get("dynamic", True)
    add_properties(mapping, body.get("properties") or {})
    return mapping


def add_properties(mapping: Mapping, properties: dict[str, Any], prefix: str = "") -> None:
    """Merge ``properties`` into the mapping; changing an existing field's type is an error as in OpenSearch."""
    if not isinstance(properties, dict):
        raise mapper_parsing("Expected map for property [properties]")
    target = mapping.properties
    for part in [p for p in prefix.split(".") if p]:
        target = target.setdefault(part, {"properties": {}}).setdefault("properties", {})
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            raise mapper_parsing(
                f"Expected map for property [fields] on field [{name}] but got a class java.lang.String"
            )
        path = f"{prefix}{name}"
        if "properties" in spec or spec.get("type") in (None, "object", "nested"):
            target.setdefault(name, {}).update({k: v for k, v in spec.items() if k != "properties"})
            target[name].setdefault("properties", {})
            add_properties(mapping, spec.get("properties") or {}, prefix=f"{path}.")
            continue
        existing = mapping.fields.get(path)
        if existing is not None and existing.type != spec.get("type"):
            raise illegal_argument(
                f"mapper [{path}] cannot be changed from type [{existing.type}] to [{spec.get('type')}]"
            )
        fd = _parse_leaf(path, spec, mapping.knn_enabled, path)
        mapping.fields[path] = fd
        for sub_name, sub_spec in (spec.get("fields") or {}).items():
            mapping.fields[f"{path}.{sub_name}"] = _parse_leaf(f"{path}.{sub_name}", sub_spec, False, path)
        target[name] = copy.deepcopy(spec)


def _dynamic_spec(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "long"}
    if isinstance(value, float):
        return {"type": "float"}
    if isinstance(value, str):
        try:
            parse_date(value, _DATE_DETECTION_FORMATS)
            if any(ch in value for ch in "-/"):
                return {"type": "date"}
        except ValueError:
            pass
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    return None


def apply_dynamic_mapping(mapping: Mapping, source: dict[str, Any], prefix: str = "", dynamic: Any = None) -> bool:
    """Map unmapped fields of ``source`` the way OpenSearch's dynamic mapping does. True if anything changed."""
    dynamic = mapping.dynamic if dynamic is None else dynamic
    changed = False
    for key, value in source.items():
        path = f"{prefix}{key}"
        if path in mapping.fields:
            continue
        sample = value
        while isinstance(sample, list):
            sample = next((v for v in sample if v is not None), None)
        if sample is None:
            continue
        obj_spec = _object_spec(mapping, path)
        if isinstance(sample, dict):
            child_dynamic = (obj_spec or {}).get("dynamic", dynamic)
            if obj_spec is None:
                if str(dynamic) == "strict":
                    raise _strict(path, prefix)
                if str(dynamic) == "false":
                    continue
                add_properties(mapping, {key: {"properties": {}}}, prefix=prefix)
                changed = True
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    changed |= apply_dynamic_mapping(mapping, item, f"{path}.", child_dynamic)
            continue
        if obj_spec is not None:
            continue
        if str(dynamic) == "strict":
            raise _strict(path, prefix)
        if str(dynamic) == "false":
            continue
        spec = _dynamic_spec(sample)
        if spec is not None:
            add_properties(mapping, {key: spec}, prefix=prefix)
            changed = True
    return changed


def _strict(path: str, prefix: str) -> OpenSearchError:
    parent = prefix.rstrip(".") or "_doc"
    return OpenSearchError(
        400,
        "strict_dynamic_mapping_exception",
        f"mapping set to strict, dynamic introduction of [{path.rsplit('.', 1)[-1]}] within [{parent}] is not allowed",
    )


def _object_spec(mapping: Mapping, path: str) -> dict[str, Any] | None:
    node: Any = {"properties": mapping.properties}
    for part in path.split("."):
        node = (node.get("properties") or {}).get(part)
        if node is None:
            return None
    return node if isinstance(node, dict) and "properties" in node else None


def extract_values(source: dict[str, Any], path: str) -> list[Any]:
    """Leaf values at a dotted path; arrays (also arrays of objects) are flattened, nulls dropped."""
    out: list[Any] = []
    _walk(source, path.split("."), out)
    return out


def _walk(node: Any, parts: list[str], out: list[Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, parts, out)
        return
    if not parts:
        if node is not None:
            out.append(node)
        return
    if not isinstance(node, dict):
        return
    head = parts[0]
    if head in node:
        _walk(node[head], parts[1:], out)
    # Dotted keys in the source ("a.b": 1) address the same field as nested objects.
    for i in range(2, len(parts) + 1):
        dotted = ".".join(parts[:i])
        if dotted in node:
            _walk(node[dotted], parts[i:], out)


def coerce_numeric(fd: FieldDef, value: Any) -> float:
    """A numeric/date/boolean value as a float the way the field type would index it, else ValueError."""
    if fd.type == "date":
        return float(parse_date(value, fd.date_format))
    if fd.type == "boolean":
        return 1.0 if coerce_bool(value) else 0.0
    if isinstance(value, bool):
        raise ValueError("booleans are not numbers")
    if isinstance(value, str):
        value = float(value.strip())
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise ValueError(f'For input string: "{value}"')
    if fd.type in INTEGER_TYPES:
        if isinstance(value, float) and not value.is_integer():
            return float(math.trunc(value))  # OpenSearch truncates decimals for integer types
        return float(value)
    return float(value)


def coerce_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value == "":
        return False
    raise ValueError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
