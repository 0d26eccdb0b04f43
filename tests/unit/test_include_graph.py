"""The rooms of csrc/clrt include only rooms below them (docs/architecture.md, "Rooms").

Each `#include "clrt/<room>/..."` under csrc/clrt is an edge from the including file's room to
<room>; an edge to a room of the same or a higher level fails, naming the file and line.
"""

import re
from pathlib import Path

CSRC = Path(__file__).resolve().parents[2] / "csrc" / "clrt"

# Level of each room: a room may include its own files and rooms of a lower level only. Rooms
# on one level are independent of each other. kernels/ holds OpenCL C (no C++ includes).
LEVELS = {
    "core": 0,
    "tools": 0,  # clrt-compile-worker: a program of its own that includes no clrt header
    "ir": 1,
    "ocl": 1,
    "onnx": 2,
    "passes": 2,
    "quant": 2,
    "plan": 2,
    "tactics": 3,
    "runtime": 4,
    "builder": 5,
    "python": 6,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"clrt/([a-z_0-9]+)/([^"]+)"', re.MULTILINE)


def sources():
    return sorted(p for p in CSRC.rglob("*") if p.suffix in (".h", ".cc"))


def room_of(path):
    return path.relative_to(CSRC).parts[0]


def edges():
    """(file, line number, from room, to room, included path) for every clrt include."""
    out = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        for m in INCLUDE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append((path.relative_to(CSRC.parent), line, room_of(path), m.group(1), m.group(2)))
    return out


def test_every_room_has_a_level():
    rooms = {p.name for p in CSRC.iterdir() if p.is_dir() and p.name != "kernels"}
    assert rooms == set(LEVELS), f"rooms without a level: {sorted(rooms - set(LEVELS))}"


def test_includes_point_down():
    found = edges()
    assert len(found) > 100  # the parser sees the includes at all
    bad = [
        f"{f}:{n}: {a} (level {LEVELS[a]}) includes {b} (level {LEVELS[b]})"
        for f, n, a, b, _ in found
        if a != b and LEVELS[b] >= LEVELS[a]
    ]
    assert not bad, "includes of a room that is not below:\n" + "\n".join(bad)


def test_included_files_exist():
    missing = [
        f"{f}:{n}: clrt/{b}/{h}" for f, n, _, b, h in edges() if not (CSRC / b / h).is_file()
    ]
    assert not missing, "\n".join(missing)
