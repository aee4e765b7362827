"""The CI scripts around the tutorials: check_notebooks (stale outputs, reasons for markers),
notebook_report (runs notebooks, measures time and memory) and check_binder (binder/ as Binder reads it).

The basic check_notebooks cases (unexecuted, out of order, errors, sanitize file) are in test_packaging.py.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"


@pytest.fixture(scope="module")
def scripts():
    """The scripts as modules (they import each other by bare name, as when run from scripts/)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield {name: importlib.import_module(name) for name in ("check_notebooks", "notebook_report", "check_binder")}
    finally:
        sys.path.remove(str(SCRIPTS))


def _code(source: str, count, outputs=(), tags=()):
    metadata = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "source": source,
        "execution_count": count,
        "outputs": list(outputs),
        "metadata": metadata,
    }


def _notebook(path: Path, cells: list) -> Path:
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook))
    return path


def _result(count: int, text: str = "1"):
    return {"output_type": "execute_result", "execution_count": count, "data": {"text/plain": text}, "metadata": {}}


# ---------------------------------------------------------------------- check_notebooks
def test_stale_result_from_an_earlier_run_is_rejected(scripts, tmp_path):
    check = scripts["check_notebooks"].check_notebook
    assert check(_notebook(tmp_path / "ok.ipynb", [_code("1", 1, [_result(1)])])) == []
    (problem,) = check(_notebook(tmp_path / "stale.ipynb", [_code("1", 1, [_result(4)])]))
    assert "result of run [4] under run [1]" in problem


@pytest.mark.parametrize(
    "cell, problem",
    [
        (_code("# NBVAL_IGNORE_OUTPUT\n# timings vary\nx", 1), None),
        (_code("# NBVAL_SKIP\n# needs a GPU\nx", 1), None),
        (_code("# NBVAL_IGNORE_OUTPUT\nx", 1), "marked NBVAL_IGNORE_OUTPUT without a reason"),
        (_code("# random: unseeded on purpose\nx", 1, tags=["nbval-ignore-output"]), None),
        (_code("x", 1, tags=["nbval-skip"]), "marked NBVAL_SKIP without a reason"),
        (_code("# NBVAL_RAISES_EXCEPTION\n1/0", 1), None),  # the error it shows is the point
        # nbval reads a marker only when it stands alone on its line: text after it hides it.
        (_code("# NBVAL_IGNORE_OUTPUT: timings vary\nx", 1), "nbval ignores '# NBVAL_IGNORE_OUTPUT: timings vary'"),
        (_code("# NBVAL_SKIP - needs a GPU\nx", 1), "nbval ignores '# NBVAL_SKIP - needs a GPU'"),
    ],
)
def test_markers_must_be_read_by_nbval_and_say_why(scripts, tmp_path, cell, problem):
    problems = scripts["check_notebooks"].check_notebook(_notebook(tmp_path / "a.ipynb", [cell]))
    if problem is None:
        assert problems == []
    else:
        (found,) = problems
        assert problem in found


def test_cell_markers_read_comments_and_tags(scripts):
    markers = scripts["check_notebooks"].cell_markers
    assert markers(_code("# NBVAL_SKIP\n# NBVAL_RAISES_EXCEPTION\nx", 1)) == {"skip", "raises"}
    assert markers(_code("# NBVAL_SKIP: gpu\nx", 1)) == set()  # as nbval reads it: not a marker
    assert markers(_code("x", 1, tags=["nbval-ignore-output", "raises-exception"])) == {"ignore-output", "raises"}
    assert markers(_code("x", 1)) == set()


# ---------------------------------------------------------------------- notebook_report
def test_limit_problems_and_table(scripts):
    report = scripts["notebook_report"]
    results = [
        {"notebook": "n/a.ipynb", "seconds": 130.0, "execute_seconds": 129.0, "peak_mb": 200.0, "error": None},
        {"notebook": "n/b.ipynb", "seconds": 10.0, "execute_seconds": 9.0, "peak_mb": 1500.0, "error": "ValueError"},
    ]
    problems = report.limit_problems(results, 120, 1024, 100)
    assert problems == [
        "a.ipynb: its cells took 129.0 s, over the 120 s limit",
        "b.ipynb: failed: ValueError",
        "b.ipynb: peak memory 1500 MB, over the 1024 MB limit",
        "all notebooks took 140.0 s together, over the 100 s limit",
    ]
    table = report.format_table(results)
    assert "a.ipynb" in table and "FAILED" in table and "1500" in table and "140.0" in table


@pytest.mark.slow
def test_notebook_report_runs_notebooks_and_measures_them(tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    _notebook(
        tmp_path / "a.ipynb",
        [
            _code("import numpy as np\nblock = np.ones(40_000_000)  # 320 MB, touched\ndel block", 1),
            _code("# NBVAL_SKIP\n# skipped here as by nbval\nraise SystemExit('must not run')", 2),
            _code("# NBVAL_RAISES_EXCEPTION\n1 / 0", 3),
            _code("open('written-in-cwd.txt', 'w').write('x')", 4),  # the kernel runs in the notebook's folder
        ],
    )
    _notebook(tmp_path / "b.ipynb", [_code("raise ValueError('boom')", 1)])
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "notebook_report.py"), str(tmp_path), "--json", str(out), "--cpus", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1  # b.ipynb raised
    a, b = json.loads(out.read_text())
    assert a["error"] is None, a
    assert 320 < a["peak_mb"] < 1024
    assert 0 < a["execute_seconds"] <= a["seconds"] < 120
    assert (tmp_path / "written-in-cwd.txt").exists()
    assert b["error"] == "ValueError: boom"
    assert "b.ipynb: failed: ValueError: boom" in done.stderr
    assert "a.ipynb" in done.stdout and "peak MB" in done.stdout


# ---------------------------------------------------------------------- check_binder
BADGE = "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/{})"


@pytest.fixture
def binder_tree(tmp_path):
    """A copy of the repository's binder/, pyproject.toml, with a README and a notebook that carry badges."""
    shutil.copytree(ROOT / "binder", tmp_path / "binder")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "README.md").write_text(f"# x\n{BADGE.format('00_quickstart.ipynb')}\n")
    (tmp_path / "notebooks").mkdir()
    first = {"cell_type": "markdown", "source": f"# T\n\n{BADGE.format('00_a.ipynb')}\n", "metadata": {}}
    _notebook(tmp_path / "notebooks" / "00_a.ipynb", [first, _code("1", 1)])
    return tmp_path


def test_binder_folder_of_the_repository_passes_static_checks(scripts, binder_tree):
    assert scripts["check_binder"].static_problems(binder_tree) == []
    assert scripts["check_binder"].runtime_version(binder_tree / "binder") >= (3, 11)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: (t / "binder/requirements.txt").write_text("numpy>=2\n"), "'numpy>=2' is not pinned"),
        (lambda t: (t / "binder/postBuild").write_text("#!/bin/bash\npip install --no-deps .\n"), "'set -e'"),
        (lambda t: (t / "binder/postBuild").write_text("#!/bin/bash\nset -e\npip install .\n"), "--no-deps"),
        (lambda t: os.chmod(t / "binder/postBuild", 0o644), "not executable"),
        (lambda t: (t / "binder/runtime.txt").unlink(), "Python 3.10"),
        (lambda t: (t / "binder/runtime.txt").write_text("python-3.10\n"), "older than requires-python"),
        (lambda t: (t / "README.md").write_text("no badge"), "README.md: no Binder badge"),
        (lambda t: (t / "notebooks/00_a.ipynb").rename(t / "notebooks/00_b.ipynb"), "00_b.ipynb: the first cell"),
    ],
)
def test_binder_static_problems(scripts, binder_tree, change, message):
    change(binder_tree)
    problems = scripts["check_binder"].static_problems(binder_tree)
    assert any(message in p for p in problems), problems


DOCKERFILE = """Building conda environment for python=3.11
COPY --chown=0:0 src/binder/requirements.txt ${REPO_DIR}/binder/requirements.txt
RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir -r "binder/requirements.txt"
RUN chmod +x binder/postBuild
RUN ./binder/postBuild
"""


def test_dockerfile_problems(scripts):
    problems = scripts["check_binder"].dockerfile_problems
    assert problems(DOCKERFILE, (3, 11)) == []
    assert any("runtime.txt" in p for p in problems(DOCKERFILE, (3, 12)))
    assert any("postBuild" in p for p in problems(DOCKERFILE.replace("RUN ./binder/postBuild", ""), (3, 11)))
    root_config = DOCKERFILE.replace('-r "binder/requirements.txt"', '-r "requirements.txt"')
    assert any("repository root" in p for p in problems(root_config, (3, 11)))


@pytest.mark.slow
def test_repo2docker_reads_the_binder_folder(scripts, tmp_path):
    """repo2docker itself (when installed) prints a Dockerfile that uses binder/ as intended."""
    repo2docker = shutil.which("repo2docker") or pytest.skip("repo2docker is not installed (CI runs check_binder.py)")
    done = subprocess.run([repo2docker, "--no-build", "--no-run", "--debug", str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    version = scripts["check_binder"].runtime_version()
    assert scripts["check_binder"].dockerfile_problems(done.stdout + done.stderr, version) == []
