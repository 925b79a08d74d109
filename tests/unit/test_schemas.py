"""The lethe.v1 .avsc files: they parse, resolve, and document every field."""

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastavro.schema import load_schema, to_parsing_canonical_form

from lethe.consumers.codec import Catalogue

SCHEMA_DIR = Path(str(resources.files("lethe.schemas")))
SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.avsc"))
RECORDS = {
    "RetentionMetadata",
    "AlarmEvent",
    "VerificationImage",
    "CallRecording",
    "CustomerLifecycle",
    "LetheCommand",
    "ErasureOrder",
    "ErasureRecall",
    "ErasureConfirmation",
}


def raw(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return schema


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = schema["fields"]
    return listed


def branches(field_type: Any) -> list[Any]:
    return field_type if isinstance(field_type, list) else [field_type]


def test_every_record_of_the_contract_ships_as_its_own_file() -> None:
    assert {path.name for path in SCHEMA_FILES} == {
        f"lethe.v1.{name}.avsc" for name in RECORDS
    }


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_each_file_holds_one_record_named_after_the_file(path: Path) -> None:
    schema = raw(path)
    assert schema["type"] == "record"
    assert f"{schema['namespace']}.{schema['name']}.avsc" == path.name


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_each_file_parses_with_its_references_resolved(path: Path) -> None:
    schema = load_schema(str(path))
    assert isinstance(schema, dict)
    assert schema["name"] == f"lethe.v1.{path.name.split('.')[2]}"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_every_record_field_and_enum_has_a_doc(path: Path) -> None:
    schema = raw(path)
    assert schema.get("doc", "").strip()
    for field in fields(schema):
        assert field.get("doc", "").strip(), f"{path.name}: {field['name']}"
        if isinstance(field["type"], dict) and field["type"]["type"] == "enum":
            assert field["type"].get("doc", "").strip(), field["type"]["name"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_optional_fields_default_to_null(path: Path) -> None:
    # A default lets a newer reader read bytes from a writer without the field.
    for field in fields(raw(path)):
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert field["type"][0] == "null", field["name"]
            assert "default" in field and field["default"] is None, field["name"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_every_instant_is_a_timestamp_in_milliseconds(path: Path) -> None:
    for field in fields(raw(path)):
        if field["name"].endswith("_at"):
            instant = [kind for kind in branches(field["type"]) if kind != "null"]
            assert instant == [{"type": "long", "logicalType": "timestamp-millis"}]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.stem)
def test_an_enum_default_is_only_ever_unknown_so_nothing_is_guessed(
    path: Path,
) -> None:
    # Without a default an unknown symbol is rejected by the codec; with one it
    # must read as UNKNOWN, which the consumer dead-letters (test_records.py),
    # never as a real kind a newer writer did not mean.
    for field in fields(raw(path)):
        if isinstance(field["type"], dict) and field["type"]["type"] == "enum":
            assert field["type"].get("default", "UNKNOWN") == "UNKNOWN"
            assert field["type"]["symbols"][-1:] == ["UNKNOWN"] or (
                "default" not in field["type"]
            )


PREVIOUS_FILES = sorted((SCHEMA_DIR / "previous").glob("*.avsc"))


@pytest.mark.parametrize("path", PREVIOUS_FILES, ids=lambda path: path.stem)
def test_each_previous_schema_evolves_into_the_current_by_added_symbols_only(
    path: Path,
) -> None:
    old = raw(path)
    current = raw(SCHEMA_DIR / f"{old['namespace']}.{old['name']}.avsc")
    assert path.name.startswith(f"{old['namespace']}.{old['name']}.")
    new_fields = {field["name"]: field for field in fields(current)}
    for field in fields(old):
        now = new_fields[field["name"]]
        if isinstance(field["type"], dict) and field["type"]["type"] == "enum":
            old_symbols = field["type"]["symbols"]
            # Appended, never reordered or removed: an old symbol keeps its index.
            assert now["type"]["symbols"][: len(old_symbols)] == old_symbols
        else:
            assert now["type"] == field["type"]
    for name in set(new_fields) - {field["name"] for field in fields(old)}:
        assert "default" in new_fields[name]


def test_retention_metadata_is_defined_once_and_referenced_by_name() -> None:
    for path in SCHEMA_FILES:
        for field in fields(raw(path)):
            if field["name"] == "metadata":
                assert field["type"] == "lethe.v1.RetentionMetadata"


def test_canonical_form_writes_timestamps_as_plain_long_as_java_does() -> None:
    # Java's SchemaNormalization drops logicalType; a producer in Java must
    # compute the same fingerprint as we do.
    canonical = to_parsing_canonical_form(
        load_schema(str(SCHEMA_DIR / "lethe.v1.RetentionMetadata.avsc"))
    )
    assert '{"name":"captured_at","type":"long"}' in canonical
    assert "doc" not in canonical and "default" not in canonical


def test_the_packaged_catalogue_knows_every_record() -> None:
    catalogue = Catalogue.shipped()
    fingerprints = {catalogue.fingerprint(name) for name in RECORDS}
    assert len(fingerprints) == len(RECORDS)
    assert all(len(fingerprint) == 8 for fingerprint in fingerprints)
