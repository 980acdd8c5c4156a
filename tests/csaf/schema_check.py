"""Checks JSON documents against one of the CSAF schemas (the CSAF 2.0 document, provider metadata or ROLIE
feed schema) with the `jsonschema` package, formats included.

Usage: python schema_check.py SCHEMA_DIR SCHEMA_FILE < documents.json
Reads a JSON array of documents on stdin; prints, per document, the list of errors (path: message) as a JSON
array. The schemas one refers to by URL (the FIRST CVSS schemas, the CSAF schema) are read from SCHEMA_DIR,
never fetched.
"""

import json
import pathlib
import sys

from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7


def main() -> None:
    directory = pathlib.Path(sys.argv[1])
    schema = json.loads((directory / sys.argv[2]).read_text())
    registry = Registry()
    for path in sorted(directory.glob("*.json")):
        contents = json.loads(path.read_text())
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        if path.name.startswith("cvss-"):
            registry = registry.with_resource(f"https://www.first.org/cvss/{path.name}", resource)
        elif "$id" in contents:
            registry = registry.with_resource(contents["$id"], resource)
    cls = validators.validator_for(schema, default=Draft202012Validator)
    validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
    out = []
    for doc in json.load(sys.stdin):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        out.append([f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
