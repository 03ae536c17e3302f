"""Prints the test cases of the JUnit XML report given as the first argument
(as sekmet-fhir writes one per scenario run) as a JSON list on stdout, one
object per case:

    {"suite": "REST conformance smoke test", "name": "03 Create Patient",
     "outcome": "failed", "message": "...", "text": "...", "warning": ""}

`outcome` is passed, failed, error or skipped; `message` is the element's
message attribute and `text` its text (sekmet puts each check there);
`warning` is sekmet's note on a passed case whose SHOULD-level check did not
hold. The Rust caller (tests/http/fhir_sekmet.rs) decides what fails.
"""

import json
import sys
import xml.etree.ElementTree as ET

OUTCOMES = {"failure": "failed", "error": "error", "skipped": "skipped"}


def cases(path):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            found = {"suite": suite.get("name", ""), "name": case.get("name", ""),
                     "outcome": "passed", "message": "", "text": "", "warning": ""}
            for tag, outcome in OUTCOMES.items():
                element = case.find(tag)
                if element is not None:
                    found.update(outcome=outcome, message=element.get("message", ""),
                                 text=element.text or "")
            note = case.find("system-err")
            if note is not None and (note.text or "").startswith("WARNING"):
                found["warning"] = note.text
            yield found


if __name__ == "__main__":
    json.dump(list(cases(sys.argv[1])), sys.stdout)
