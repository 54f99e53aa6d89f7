"""Schema stage of loading: one parsed YAML file against the authoring JSON Schema.

The Rust validator (jsonschema-rs) answers "valid" for the common case; for an invalid file the
Python `jsonschema` validator lists the errors, which become curator messages located by the
YAML positions, naming each field by its key path. Items with errors are returned so that the
record reader skips them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from pipeline import yamlsafe
from pipeline.report import Location, Problem, Report, Severity, Stage
from pipeline.values import key_path

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError


@cache
def authoring_schema() -> dict[str, Any]:
    text = resources.files("pipeline").joinpath("schemas/authoring.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    # Imported here: the Python validator only explains invalid files, and importing it was
    # a tenth of building the real corpus.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        authoring_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _fast_validator() -> Any:
    """jsonschema-rs (Rust) for the common case, a valid file: about 30x faster than the
    Python validator, which stays the one that explains errors. Only "valid" is trusted from
    it; tests/test_schema_fastpath.py checks it never calls valid what Python refuses."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(authoring_schema(), validate_formats=True)


def schema_check(doc: yamlsafe.LoadedYaml, name: str, report: Report) -> set[tuple[Any, ...]]:
    """Validate one file; return the (section, index) of items that must not be used."""
    bad: set[tuple[Any, ...]] = set()
    if doc.data is None:
        report.add(
            Problem(
                Severity.WARNING,
                Stage.SCHEMA,
                "empty-file",
                "the file is empty",
                Location(name, 1, 1),
            )
        )
        return bad
    if _fast_validator().is_valid(doc.data):
        return bad
    for error in _leaf_errors(_validator().iter_errors(doc.data)):
        path = tuple(error.absolute_path)
        line, col = doc.position(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            schema = error.schema if isinstance(error.schema, dict) else {}
            allowed = set(schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed):
                kline, kcol = doc.key_positions.get((*path, key), (line, col))
                report.add(
                    Problem(
                        Severity.VIOLATION,
                        Stage.SCHEMA,
                        "unknown-field",
                        f"unknown field `{key}`; allowed here: {', '.join(sorted(allowed))}",
                        Location(name, kline, kcol),
                    )
                )
        else:
            report.add(
                Problem(
                    Severity.VIOLATION,
                    Stage.SCHEMA,
                    _rule(error),
                    _message(error, doc),
                    Location(name, line, col),
                )
            )
        bad.add(path[:2] if len(path) >= 2 and path[0] != "source" else path[:1])
    return bad


def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Replace `oneOf`/`allOf` wrappers by their most useful inner errors."""
    for error in errors:
        if error.validator in ("allOf", "anyOf") and error.context:
            yield from _leaf_errors(iter(error.context))
        elif error.validator == "oneOf" and error.context and isinstance(error.instance, dict):
            yield error  # the claim object/value choice: explained by _message
        elif error.validator == "oneOf" and error.context:
            yield min(error.context, key=lambda e: len(list(e.absolute_path)))
        else:
            yield error


def _field(error: ValidationError) -> str:
    """The value's key path as a curator finds it in the file: `references[2].url`."""
    path = list(error.absolute_path)
    return f"`{key_path(path)}`" if path else "this value"


def _leaf(error: ValidationError) -> str:
    names = [p for p in error.absolute_path if isinstance(p, str)]
    return names[-1] if names else ""


def _rule(error: ValidationError) -> str:
    return {
        "required": "missing-field",
        "enum": "not-in-list",
        "type": "wrong-type",
        "pattern": "bad-format",
        "format": "bad-format",
        "minItems": "empty-list",
        "minLength": "empty-text",
        "oneOf": "object-or-value",
    }.get(str(error.validator), f"schema-{error.validator}")


def _message(error: ValidationError, doc: yamlsafe.LoadedYaml) -> str:
    field = _field(error)
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required field `{missing}`"
    if v == "enum":
        allowed = ", ".join(str(x) for x in list(error.validator_value))  # type: ignore[arg-type]
        return f"{field} must be one of: {allowed} (found {error.instance!r})"
    if v == "type":
        raw = doc.raw_scalars.get(tuple(error.absolute_path))
        expected = {
            "string": "text",
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true or false",
            "array": "a list",
            "object": "a mapping",
        }
        want = expected.get(str(error.validator_value), str(error.validator_value))
        if raw is not None and error.validator_value == "string":
            return (
                f"{field} must be text, but YAML reads {raw} as {error.instance!r}; "
                f'write it in quotes: "{raw}"'
            )
        return f"{field} must be {want} (found {error.instance!r})"
    if v == "pattern":
        leaf = _leaf(error)
        if "id" in leaf or leaf in (
            "subject",
            "object",
            "source",
            "broader",
            "cites",
            "candidates",
            "partOf",
            "copyOf",
        ):
            return (
                f"{field} {error.instance!r} is not a valid identifier: use lower-case "
                "letters, digits and single hyphens, like muscle-cramp"
            )
        return f"{field} {error.instance!r} does not have the expected form"
    if v == "format":
        if error.validator_value == "date":
            return f"{field} {error.instance!r} is not a real calendar date (use YYYY-MM-DD)"
        return f"{field} {error.instance!r} is not a valid {error.validator_value}"
    if v == "oneOf":
        return "a claim needs either `object` (an entity id) or `value` (a text), not both"
    if v == "minItems":
        return f"{field} needs at least {error.validator_value} item(s)"
    bound = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "greater than",
        "exclusiveMaximum": "less than",
    }.get(str(v))
    if bound is not None:
        limit = error.validator_value
        return f"{field} must be a number {bound} {limit} (found {error.instance!r})"
    if v == "minLength":
        return f"{field} must not be empty"
    if v == "minProperties":
        return "the file has no content; add a `dataset`, `source`, `entities` or `claims` section"
    if v == "dependentRequired":
        return "`references` must be in the same file as the `source` they belong to"
    return f"{field}: {error.message}"
