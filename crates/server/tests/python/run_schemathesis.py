"""schemathesis against /openapi.json of a running `qkv serve`: every documented operation, with
valid and invalid data (the examples, coverage and fuzzing phases), on the embedding model; then
the model-specific routes on the tiny cross-encoder fixture (/rerank answering 200, the
embedding routes 424). Checks: no 5xx, every status, content type, header and body as
documented, invalid data refused. Exits non-zero when either run fails.
Usage: run_schemathesis.py PATH_TO_SCHEMATHESIS
"""

import subprocess
import sys
import tempfile

from serve_fixture import QkvServer, reranker_dir

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
])


def run(st, server_args, model, max_examples, extra=()):
    """schemathesis against one running server; its exit status, 1 also for any 5xx logged."""
    with QkvServer(server_args, model=model) as s:
        cmd = [
            st, "run", s.url + "/openapi.json",
            "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(max_examples),
            "--seed", "20240601",
            "--workers", "2",
            "--generation-database", "none",
            "--request-timeout", "60",
            "--no-color",
            *extra,
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


def main(st):
    # The embedding model (every route), then the tiny cross-encoder: /rerank's 200s and the
    # embedding routes' 424s exist only there.
    rc = run(st, ["--threads", "2", "--read-timeout", "30"], None, 150)
    rc2 = run(st, ["--threads", "2", "--read-timeout", "30"], reranker_dir(), 60,
              ["--include-path-regex", "^/(rerank|embed|v1/embeddings|info)$"])
    return rc or rc2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
