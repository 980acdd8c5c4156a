"""Validates exchange records read from stdin, one JSON object a line: {"kind": "osv" | "cve", "record": {...}};
or, given a zip archive as the second argument, every entry of it as an OSV record.

OSV records are checked against the OSV schema whose path is the first argument, with `jsonschema` (the
validator for the schema's own draft, formats checked); CVE records with `cvelib`, against the CVE JSON 5
record schema it ships and against its published CNA container schema (what `cve publish` submits). Prints,
for each record in order, one JSON line: the list of error messages (empty when valid); for an archive, one JSON line
mapping each entry's name to its errors, as Python's `zipfile` reads the archive (CRCs checked).
"""

import json
import sys
import zipfile

import jsonschema
from cvelib.cve_api import CveRecord, CveRecordValidationError


def osv_validator(path):
    with open(path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def cve_errors(record):
    errors = []
    for target, schema in [(record, CveRecord.Schemas.V5_SCHEMA), (record.get("containers", {}).get("cna", {}), None)]:
        try:
            CveRecord.validate(target, schema_path=schema)
        except CveRecordValidationError as e:
            errors.extend(f"{err.json_path}: {err.message}" for err in e.errors)
    return errors


def main():
    osv = osv_validator(sys.argv[1])
    if len(sys.argv) > 2:
        with zipfile.ZipFile(sys.argv[2]) as archive:
            entries = {}
            for name in archive.namelist():
                record = json.loads(archive.read(name))
                entries[name] = [f"{e.json_path}: {e.message}" for e in osv.iter_errors(record)]
        print(json.dumps(entries), flush=True)
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        if item["kind"] == "osv":
            errors = [f"{e.json_path}: {e.message}" for e in osv.iter_errors(item["record"])]
        else:
            errors = cve_errors(item["record"])
        print(json.dumps(errors), flush=True)


if __name__ == "__main__":
    main()
