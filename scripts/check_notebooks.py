"""Check that the tutorials are committed executed, so that nbval compares real outputs.

nbval passes a notebook saved without outputs while checking nothing, and it
silently ignores a malformed sanitize rule. This script fails on both:

- every code cell has an execution count, counts run 1, 2, 3, ... top to bottom
  (one fresh kernel, in order), and no empty code cells;
- no error output, except in cells marked to raise (``# NBVAL_RAISES_EXCEPTION``
  or the ``raises-exception`` tag);
- no output left over from an earlier run: an ``execute_result`` carries the
  execution count of the run that produced it, and it must be the cell's own
  (the outputs themselves are compared with the code's by ``pytest --nbval``,
  which re-executes every notebook in CI);
- a comment marker stands alone on its line, as nbval reads it (nbval silently
  ignores ``# NBVAL_SKIP: because ...``: the text makes it another comment);
- a cell that nbval skips or does not compare says why in a comment of its own
  (``# NBVAL_IGNORE_OUTPUT`` then ``# the time depends on the machine``), whether
  the marker is a comment or a cell tag;
- the sanitize file holds only comments, blank lines and ``regex: ``/``replace: ``
  pairs that nbval actually reads.

Usage: python scripts/check_notebooks.py NOTEBOOK_DIR [SANITIZE_FILE]
Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# The exact pattern nbval uses to read the sanitize file.
NBVAL_PAIR = re.compile(r"^regex: (.*)$\n^replace: (.*)$", re.MULTILINE)


# nbval's markers: a comment in the cell, or the equivalent cell tag.
MARKERS = {
    "skip": ("NBVAL_SKIP", "nbval-skip"),
    "ignore-output": ("NBVAL_IGNORE_OUTPUT", "nbval-ignore-output"),
    "raises": ("NBVAL_RAISES_EXCEPTION", "raises-exception"),
}
# Markers that make nbval test less, so a reader must learn why.
NEEDS_REASON = ("skip", "ignore-output")


def _source(cell: dict) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _comments(source: str) -> list[str]:
    """The text of each comment line, as nbval sees it (``#`` signs and spaces stripped)."""
    return [line.strip().lstrip("#").strip() for line in source.splitlines() if line.strip().startswith("#")]


def cell_markers(cell: dict) -> set[str]:
    """The nbval markers of a cell (``"skip"``, ``"ignore-output"``, ``"raises"``) that nbval will obey."""
    comments, tags = _comments(_source(cell)), cell.get("metadata", {}).get("tags", [])
    return {name for name, (comment, tag) in MARKERS.items() if comment in comments or tag in tags}


def _ignored_markers(cell: dict) -> list[str]:
    """Comment markers that nbval does not see because text follows them on their line."""
    return [
        text for text in _comments(_source(cell)) if any(text.startswith(c) and text != c for c, _ in MARKERS.values())
    ]


def _raises_on_purpose(cell: dict) -> bool:
    return "raises" in cell_markers(cell)


def _missing_reasons(cell: dict) -> list[str]:
    """The skip/ignore markers of a cell that come without a reason (another comment line of the cell)."""
    comments = _comments(_source(cell))
    markers = {comment for comment, _ in MARKERS.values()}
    has_reason = any(re.search(r"[A-Za-z]{3}", text) for text in comments if text not in markers)
    present = cell_markers(cell)
    return [] if has_reason else [MARKERS[name][0] for name in NEEDS_REASON if name in present]


def check_notebook(path: Path) -> list[str]:
    """Problems found in one notebook, each a line naming the file and cell."""
    problems = []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    expected = 1
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        where = f"{path}: cell {index + 1} (code)"
        if not "".join(cell["source"]).strip():
            problems.append(f"{where} is empty: delete it")
            continue
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"{where} has no execution count: execute the notebook and save it with outputs")
        elif count != expected:
            problems.append(
                f"{where} has execution count {count}, expected {expected}: restart the kernel and run all cells"
            )
        expected += 1
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and not _raises_on_purpose(cell):
                problems.append(f"{where} raised {output.get('ename')}: {output.get('evalue')}")
            stale = output.get("output_type") == "execute_result" and output.get("execution_count") != count
            if stale and count is not None:
                problems.append(
                    f"{where} shows a result of run [{output.get('execution_count')}] under run [{count}]: "
                    "an output left from an earlier run; restart the kernel and run all cells"
                )
        for text in _ignored_markers(cell):
            problems.append(
                f"{where}: nbval ignores '# {text}' (a marker must stand alone on its line): "
                "put the reason in a comment line of its own"
            )
        for marker in _missing_reasons(cell):
            problems.append(f"{where} is marked {marker} without a reason: say why in a comment line of its own")
    if expected == 1:
        problems.append(f"{path} has no code cells")
    return problems


def check_sanitize_file(path: Path) -> list[str]:
    """Lines of the sanitize file that nbval would silently ignore."""
    text = path.read_text(encoding="utf-8")
    problems = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("regex: "):
            following = lines[number] if number < len(lines) else ""
            if not following.startswith("replace: "):
                problems.append(f"{path}:{number}: 'regex: ' must be followed directly by a 'replace: ' line")
            else:
                re.compile(line[len("regex: ") :])
        elif not (line.startswith("replace: ") and number > 1 and lines[number - 2].startswith("regex: ")):
            problems.append(f"{path}:{number}: not a comment, 'regex: <re>' or 'replace: <text>' line: {line!r}")
    if not NBVAL_PAIR.findall(text):
        problems.append(f"{path}: no regex/replace pair that nbval can read")
    return problems


def main(argv: list[str]) -> int:
    if not 2 <= len(argv) <= 3:
        print("usage: python scripts/check_notebooks.py NOTEBOOK_DIR [SANITIZE_FILE]", file=sys.stderr)
        return 2
    root = Path(argv[1])
    notebooks = sorted(
        p for p in root.rglob("*.ipynb") if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    problems = [] if notebooks else [f"{root}: no notebooks found"]
    for notebook in notebooks:
        problems += check_notebook(notebook)
    if len(argv) == 3:
        problems += check_sanitize_file(Path(argv[2]))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"check_notebooks: {len(notebooks)} notebook(s) executed in order, sanitize file OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
