"""Validates every `*.json` FHIR resource in the directory given as the first
argument with the `fhir.resources` R4B models (the R4 validator the FHIR API
tests use from PyPI; R4B shares R4's JSON for the resources Tillit serves) and
prints one JSON line per file on stdout:

    {"file": "0.json", "validator": "fhir.resources", "errors": ["<where>: <what>", ...]}

It exits 0 whether or not a resource has errors (the Rust caller,
tests/support/fhir_validators.rs, decides what fails), and non-zero only when
the harness itself cannot run.
"""

import json
import sys
from pathlib import Path

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError


def errors(resource):
    """The validation errors of one resource as "<where>: <what>"."""
    if not isinstance(resource, dict) or "resourceType" not in resource:
        return ["(resource): no resourceType"]
    try:
        model = get_fhir_model_class(resource["resourceType"])
    except (KeyError, ValueError):
        return [f"resourceType: unknown resource type {resource['resourceType']!r}"]
    try:
        model.model_validate(resource)
    except ValidationError as e:
        return [
            f"{'.'.join(str(part) for part in error['loc']) or '(resource)'}: {error['msg']}"
            for error in e.errors()
        ]
    # Any other exception is the validator failing on this input: report it
    # against the resource rather than stopping the other files.
    except Exception as e:  # noqa: BLE001
        return [f"(validator threw) {type(e).__name__}: {e}"]
    return []


def main():
    if len(sys.argv) != 2:
        print("usage: python3 validate.py <directory of *.json resources>", file=sys.stderr)
        sys.exit(2)
    for path in sorted(Path(sys.argv[1]).glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        line = {"file": path.name, "validator": "fhir.resources", "errors": errors(resource)}
        print(json.dumps(line))


if __name__ == "__main__":
    main()
