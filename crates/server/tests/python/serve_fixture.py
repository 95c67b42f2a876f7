"""Starting `qkv serve` on 127.0.0.1 with an ephemeral port, and reading its address from the
one log line it writes when ready."""

import os
import re
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

# Mixed lengths, punctuation, accents, CJK, an emoji, an empty string.
TEXTS = [
    "The cat sits on the mat.",
    "A feline rests on a rug, watching the rain through the window.",
    "",
    "Café crème, naïve résumé — déjà vu.",
    "東京は日本の首都です。",
    "short",
    "Embeddings map sentences to vectors 🚀 so that similar meanings end up close together, "
    "which is what semantic search, clustering and retrieval-augmented generation rely on.",
]


def qkv_bin():
    return os.environ.get("QKV_BIN") or str(ROOT / "target" / "debug" / "qkv")


def model_dir():
    return os.environ.get("QKV_SERVER_MODEL") or str(ROOT / "crates/encoder/tests/fixtures/tiny_bert")


def reranker_dir():
    """The tiny BERT cross-encoder fixture (a one-label BertForSequenceClassification)."""
    return str(ROOT / "crates/encoder/tests/fixtures/families/bert_reranker")


class QkvServer:
    """`qkv serve --model MODEL --port 0 ARGS`; `url` once ready; the log kept."""

    READY = re.compile(r"ready, listening on (http://[0-9.:]+)")

    def __init__(self, args=(), model=None):
        self.args = list(args)
        self.model = model
        self.proc = None
        self.url = None
        self._lines = []
        self._ready = threading.Event()
        self._thread = None

    def start(self, timeout=120):
        self.proc = subprocess.Popen(
            [qkv_bin(), "serve", "--model", self.model or model_dir(), "--port", "0", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "RUST_LOG": "info"},
        )
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self.url is None:
            self.stop()
            raise RuntimeError("qkv serve did not become ready:\n" + self.log())
        return self

    def _drain(self):
        for line in self.proc.stderr:
            self._lines.append(line)
            m = self.READY.search(line)
            if m and self.url is None:
                self.url = m.group(1)
                self._ready.set()
        self._ready.set()

    def log(self):
        return "".join(self._lines)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.join_log()

    def join_log(self, timeout=10):
        """Waits (bounded) until the reader has seen the end of the log."""
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
