"""Check that mybinder.org would build the tutorials' environment from binder/ and run every notebook in it.

Three steps, each timed:

1. static: ``binder/requirements.txt`` pins every package (``==``), ``binder/postBuild`` is
   executable, starts with ``set -e`` and installs nbgrad with ``pip install --no-deps .``,
   ``binder/runtime.txt`` names a Python that ``pyproject.toml`` accepts (without it Binder
   picks Python 3.10), and the README and every notebook's first cell carry a Binder badge
   that opens that notebook in JupyterLab;
2. repo2docker (in a throwaway venv): ``repo2docker --no-build --no-run --debug .`` prints the
   Dockerfile Binder would build; it must install ``binder/requirements.txt``, run
   ``binder/postBuild`` and use runtime.txt's Python;
3. what Binder then does: a fresh venv from ``binder/requirements.txt`` alone, ``binder/postBuild``
   run from the repository root, then every notebook executed in it by
   ``scripts/notebook_report.py`` (wall time and peak memory against Binder's limits).

Usage: python scripts/check_binder.py [--skip-repo2docker] [--skip-notebooks] [--keep DIR]
Standard library only; needs pip access to the package index (CI has it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+$")


# ---------------------------------------------------------------------- 1. static
def runtime_version(binder: Path = BINDER) -> tuple[int, int]:
    text = (binder / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    if not match:
        raise ValueError(f"{binder / 'runtime.txt'}: expected 'python-X.Y', got {text!r}")
    return int(match[1]), int(match[2])


def _badge_target(text: str) -> list[str]:
    """The ``urlpath`` targets of the mybinder.org links in a text (URL-decoded)."""
    from urllib.parse import parse_qs, unquote, urlparse

    targets = []
    for url in re.findall(r"https://mybinder\.org/v2/[^\s)\"'<>]+", text):
        query = parse_qs(urlparse(url).query)
        targets += [unquote(t) for t in query.get("urlpath", [])]
    return targets


def static_problems(root: Path = ROOT) -> list[str]:
    """Everything wrong with binder/ and the badges that can be seen without installing anything."""
    binder, problems = root / "binder", []
    for number, line in enumerate((binder / "requirements.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line and not PIN.match(line):
            problems.append(f"binder/requirements.txt:{number}: {line!r} is not pinned as name==version")
    post_build = binder / "postBuild"
    commands = [
        line.strip() for line in post_build.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    if not os.access(post_build, os.X_OK):
        problems.append("binder/postBuild is not executable (chmod +x; git keeps the mode)")
    if not commands or commands[0] != "set -e":
        problems.append("binder/postBuild: the first command must be 'set -e', so a failed step fails the build")
    if "pip install --no-deps ." not in commands:
        problems.append("binder/postBuild must install nbgrad with 'pip install --no-deps .'")
    try:
        version = runtime_version(binder)
        spec = tomllib.loads((root / "pyproject.toml").read_text())["project"]["requires-python"]
        minimum = tuple(int(p) for p in re.fullmatch(r">=\s*(\d+)\.(\d+)", spec).groups())
        if version < minimum:
            problems.append(f"binder/runtime.txt: Python {version} is older than requires-python {spec}")
    except (OSError, ValueError, AttributeError) as error:
        problems.append(f"binder/runtime.txt: {error} (without it Binder uses Python 3.10)")
    readme_targets = _badge_target((root / "README.md").read_text())
    if "lab/tree/notebooks/00_quickstart.ipynb" not in readme_targets:
        problems.append("README.md: no Binder badge opening JupyterLab on notebooks/00_quickstart.ipynb")
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        first = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
        if f"lab/tree/notebooks/{notebook.name}" not in _badge_target(first):
            problems.append(f"notebooks/{notebook.name}: the first cell needs a Binder badge opening this notebook")
    return problems


# ---------------------------------------------------------------------- helpers
def _run(command: list, step: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        # pip's output is long and mostly "Location ... is ignored" warnings: show the end.
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"{step} failed (exit {done.returncode}): {' '.join(map(str, command))}\n{tail}")
    return done


def _venv(path: Path, python: str) -> Path:
    _run([python, "-m", "venv", str(path)], f"creating {path}")
    _run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], "upgrading pip")
    return path / "bin"


def _python_for(version: tuple[int, int]) -> str:
    """An interpreter of runtime.txt's version (Binder's), else this one with a warning."""
    wanted = f"python{version[0]}.{version[1]}"
    if sys.version_info[:2] == version:
        return sys.executable
    if shutil.which(wanted):
        return shutil.which(wanted)
    print(f"check_binder: warning: no {wanted} here; using Python {sys.version.split()[0]}", file=sys.stderr)
    return sys.executable


# ---------------------------------------------------------------------- 2. repo2docker
DOCKERFILE_MUST_HAVE = {
    "the Python of runtime.txt": r"Building conda environment for python={major}\.{minor}\b",
    "pip install -r binder/requirements.txt": r'RUN .*pip install .*-r "?binder/requirements\.txt"?',
    "binder/postBuild run": r"RUN \./binder/postBuild",
}


def dockerfile_problems(output: str, version: tuple[int, int]) -> list[str]:
    """What repo2docker's --debug output lacks (or has that it must not), for a binder/ folder read as intended."""
    problems = []
    for what, pattern in DOCKERFILE_MUST_HAVE.items():
        if not re.search(pattern.format(major=version[0], minor=version[1]), output):
            problems.append(f"repo2docker: the Dockerfile does not show {what} (pattern {pattern!r})")
    # With a binder/ folder, files at the root must not be used: no root requirements.txt or setup.py step.
    if re.search(r'-r "?requirements\.txt"?|setup\.py', output):
        problems.append("repo2docker: the Dockerfile uses configuration from the repository root, not binder/")
    return problems


def check_repo2docker(work: Path, version: tuple[int, int]) -> list[str]:
    bin_dir = _venv(work / "repo2docker", sys.executable)
    _run([str(bin_dir / "pip"), "install", "-q", "jupyter-repo2docker"], "pip install jupyter-repo2docker")
    done = _run(
        [str(bin_dir / "repo2docker"), "--no-build", "--no-run", "--debug", str(ROOT)], "repo2docker --no-build"
    )
    output = done.stdout + done.stderr
    for line in output.splitlines():
        if re.search(r"Building conda|binder/|postBuild", line):
            print(f"    {line.strip()}")
    return dockerfile_problems(output, version)


# ---------------------------------------------------------------------- 3. the Binder environment
def check_binder_env(work: Path, version: tuple[int, int], report_args: list[str]) -> list[str]:
    start = time.perf_counter()
    bin_dir = _venv(work / "binder-env", _python_for(version))
    _run([str(bin_dir / "pip"), "install", "-q", "-r", str(BINDER / "requirements.txt")], "pip install -r")
    # As repo2docker does: run postBuild from the repository root with the environment's pip first on PATH.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    _run([str(BINDER / "postBuild")], "binder/postBuild", cwd=ROOT, env=env)
    _run([str(bin_dir / "pip"), "check"], "pip check (the pinned set is consistent)", env=env)
    # Imported from outside the repository: the installed wheel, not the source tree.
    where = _run([str(bin_dir / "python"), "-c", "import nbgrad; print(nbgrad.__file__)"], "import", cwd=work, env=env)
    print(f"    environment built in {time.perf_counter() - start:.1f} s; nbgrad imported from {where.stdout.strip()}")
    if str(ROOT / "nbgrad") in where.stdout:
        return ["binder env: nbgrad was imported from the source tree, not installed by postBuild"]
    report = [str(bin_dir / "python"), str(ROOT / "scripts" / "notebook_report.py"), str(ROOT / "notebooks")]
    done = subprocess.run(report + report_args, env=env, cwd=ROOT)
    return [] if done.returncode == 0 else ["binder env: a notebook failed or broke a limit (see the table above)"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-repo2docker", action="store_true")
    parser.add_argument("--skip-notebooks", action="store_true", help="static checks and repo2docker only")
    parser.add_argument("--keep", help="build the venvs in this folder and keep them (default: a temporary one)")
    parser.add_argument("--report-json", help="write notebook_report's results here")
    args = parser.parse_args(argv[1:])

    problems = []
    version = runtime_version() if (BINDER / "runtime.txt").exists() else (3, 11)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="check-binder-"))
    if args.keep and work.exists():
        shutil.rmtree(work)  # fresh every time: Binder starts from nothing
    work.mkdir(parents=True, exist_ok=True)
    steps = [("static checks", static_problems)]
    if not args.skip_repo2docker:
        steps.append(("repo2docker --no-build --no-run --debug", lambda: check_repo2docker(work, version)))
    if not args.skip_notebooks:
        report_args = ["--json", args.report_json] if args.report_json else []
        steps.append(("fresh venv from binder/ + every notebook", lambda: check_binder_env(work, version, report_args)))
    try:
        for name, step in steps:
            start = time.perf_counter()
            print(f"check_binder: {name} ...", flush=True)
            try:
                problems += step()
            except RuntimeError as error:
                problems.append(str(error))
            print(f"check_binder: {name}: {time.perf_counter() - start:.1f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("check_binder: binder/ is read as intended and every notebook runs in the Binder environment")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
