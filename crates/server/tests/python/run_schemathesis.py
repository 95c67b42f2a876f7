"""schemathesis against /openapi.json of a running `qkv serve`: every documented operation, with
valid and invalid data (the examples, coverage and fuzzing phases). Checks: no 5xx, every status,
content type, header and body as documented, invalid data refused. Exits with schemathesis's
status. Usage: run_schemathesis.py PATH_TO_SCHEMATHESIS
"""

import subprocess
import sys
import tempfile

from serve_fixture import QkvServer

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
])


def main(st):
    with QkvServer(["--threads", "2", "--read-timeout", "30"]) as s:
        cmd = [
            st, "run", s.url + "/openapi.json",
            "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "150",
            "--seed", "20240601",
            "--workers", "2",
            "--generation-database", "none",
            "--request-timeout", "60",
            "--no-color",
        ]
        print(" ".join(cmd), flush=True)
        # In a scratch directory: schemathesis leaves a .schemathesis/ folder behind.
        with tempfile.TemporaryDirectory() as scratch:
            rc = subprocess.run(cmd, timeout=600, cwd=scratch).returncode
        s.stop()
        five = [l for l in s.log().splitlines() if "status=5" in l]
        if five:
            print("server log has 5xx lines:\n" + "\n".join(five[:20]))
            rc = rc or 1
        return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
