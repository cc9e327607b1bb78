"""`ketaguide ask`'s cold start: a process answering from a warm cache imports only what answering needs.

Each module below costs start-up time and `ask` does not use it: the YAML reader, file schema and checks (the
compiled pack comes from KETAGUIDE_CACHE_DIR), the other commands and their rich tables, the care engine, the
server stack, the English word list's package (the list is kept in the cache folder as text once read). Nor does
numpy start OpenBLAS's threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

UNUSED = (
    "yaml",
    "ketaguide.knowledge.loader",
    "ketaguide.knowledge.schema",
    "ketaguide.knowledge.clinical",
    "ketaguide.domain.care",
    "ketaguide.cli.assess",
    "ketaguide.cli.kb",
    "ketaguide.cli.serve",
    "rich",
    "english_words",
    "sqlalchemy",
    "fastapi",
    "httpx",
)
PROBE = """
import atexit, json, os, sys
def report():
    imported = sorted(m for m in {unused!r} if m in sys.modules)
    print(json.dumps([imported, os.environ.get("OPENBLAS_NUM_THREADS")]), file=sys.stderr)
atexit.register(report)
sys.argv = ["ketaguide", "ask", {question!r}, "--format", "json"]
from ketaguide.cli import main
main()
"""


def run_ask(cache_dir: Path, question: str = "Is ketamine addictive?", **env: str) -> tuple[list[str], str | None]:
    """The unused modules an `ask` process imported, and its OpenBLAS thread setting."""
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    environment |= {"KETAGUIDE_CACHE_DIR": str(cache_dir), "KETAGUIDE_RETRIEVER": "lexical", **env}
    code = PROBE.format(unused=UNUSED, question=question)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stderr
    assert not json.loads(done.stdout)["abstained"]
    imported, threads = json.loads(done.stderr.strip().splitlines()[-1])
    return imported, threads


def test_a_warm_ask_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    first, _ = run_ask(tmp_path)
    assert "yaml" in first and "ketaguide.knowledge.loader" in first  # a cold cache: the pack read from the YAML
    assert run_ask(tmp_path) == ([], "1")  # one BLAS thread: numpy starts no thread pool (hybrid)


def test_a_blas_setting_of_the_users_is_kept(tmp_path: Path) -> None:
    assert run_ask(tmp_path, OPENBLAS_NUM_THREADS="4")[1] == "4"


def test_a_question_with_an_unknown_word_reads_the_kept_word_list(tmp_path: Path) -> None:
    misspelt = "Can lamotrigin reduce ketamine craving?"  # "lamotrigin" is in neither the pack nor the dictionary
    assert "english_words" in run_ask(tmp_path, misspelt)[0]  # the package's list, kept as text in the cache
    assert run_ask(tmp_path, misspelt)[0] == []
