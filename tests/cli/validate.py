"""validate.py - validate flowc's machine-readable outputs (used by formats.sh).

  validate.py json FILE ERRORS WARNINGS
      FILE is a `flowc check --format json` document: it must match
      flowc-diagnostics.schema.json, keep the documented key order, and count
      ERRORS errors and WARNINGS warnings (in its totals and its list).
  validate.py sarif FILE RESULTS
      FILE is a `flowc check --format sarif` log: it must be valid against the
      official SARIF 2.1.0 schema (sarif-schema-2.1.0.json, OASIS errata01),
      hold RESULTS results, and every ruleIndex must point at its ruleId.

Exits 0 when valid; otherwise prints what was expected and what was found.
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DIAG_KEYS = ["code", "severity", "message", "file", "span", "label", "secondary", "notes", "help"]


def fail(msg):
    print("invalid: " + msg)
    sys.exit(1)


def validate(doc, schema_file, validator_class):
    with open(os.path.join(HERE, schema_file), encoding="utf-8") as f:
        schema = json.load(f)
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:10]:
        print("at /%s: %s" % ("/".join(str(p) for p in e.path), e.message))
    if errors:
        fail("%d schema violation(s) against %s" % (len(errors), schema_file))


def check_json(path, nerrors, nwarnings):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("}\n"):
        fail("expected the document to end with '}' and a newline")
    # Key order is part of the stable format.
    ordered = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    top = [k for k, _ in ordered]
    if top != ["version", "diagnostics", "errors", "warnings"]:
        fail("expected top-level keys version, diagnostics, errors, warnings; found %s" % top)
    for _, diags in ordered:
        if isinstance(diags, list):
            for d in diags:
                keys = [k for k, _ in d]
                if keys != DIAG_KEYS:
                    fail("expected diagnostic keys %s; found %s" % (DIAG_KEYS, keys))
    doc = json.loads(text)
    validate(doc, "flowc-diagnostics.schema.json", jsonschema.Draft7Validator)
    sev = [d["severity"] for d in doc["diagnostics"]]
    found = (doc["errors"], doc["warnings"], sev.count("error"), sev.count("warning"))
    if found != (nerrors, nwarnings, nerrors, nwarnings):
        fail("expected %d errors and %d warnings; found totals %d/%d and a list of %d/%d"
             % ((nerrors, nwarnings) + found))


def check_sarif(path, nresults):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    validate(doc, "sarif-schema-2.1.0.json", jsonschema.Draft4Validator)
    if doc.get("version") != "2.1.0" or len(doc.get("runs", [])) != 1:
        fail("expected version 2.1.0 and exactly one run")
    run = doc["runs"][0]
    rules = run["tool"]["driver"].get("rules", [])
    results = run.get("results", [])
    if len(results) != nresults:
        fail("expected %d results, found %d" % (nresults, len(results)))
    for i, r in enumerate(results):
        idx = r.get("ruleIndex", -1)
        if not 0 <= idx < len(rules) or rules[idx]["id"] != r.get("ruleId"):
            fail("result %d: ruleIndex %s does not point at rule %s" % (i, idx, r.get("ruleId")))
        for loc in r.get("locations", []) + r.get("relatedLocations", []):
            reg = loc["physicalLocation"]["region"]
            if (reg["endLine"], reg["endColumn"]) < (reg["startLine"], reg["startColumn"]):
                fail("result %d: region ends before it starts: %s" % (i, reg))
    ids = [rule["id"] for rule in rules]
    if len(ids) != len(set(ids)):
        fail("expected one rule per code, found %s" % ids)


def main(argv):
    if len(argv) == 5 and argv[1] == "json":
        check_json(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 4 and argv[1] == "sarif":
        check_sarif(argv[2], int(argv[3]))
    else:
        print(__doc__)
        sys.exit(2)
    print("valid")


if __name__ == "__main__":
    main(sys.argv)
