"""Scores CVSS vectors with the reference implementation, PyPI `cvss` (crates/prelaunch/tests/it/cvss.rs).

Reads one vector a line on stdin; writes one JSON object a line on stdout, in the same order:
v3.x `{"base": …, "temporal": …, "environmental": …, "severities": [base, temporal, environmental]}`,
v4.0 `{"score": …, "severity": …}`, or `{"error": "…"}` for a vector the library refuses.
"""

import json
import sys

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError


def score(vector):
    try:
        if vector.startswith("CVSS:4.0/"):
            c = CVSS4(vector)
            return {"score": c.base_score, "severity": c.severity}
        c = CVSS3(vector)
        base, temporal, environmental = c.scores()
        return {
            "base": base,
            "temporal": temporal,
            "environmental": environmental,
            "severities": list(c.severities()),
        }
    except CVSSError as error:
        return {"error": str(error)}


def main():
    out = sys.stdout
    for line in sys.stdin:
        out.write(json.dumps(score(line.rstrip("\n"))))
        out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
