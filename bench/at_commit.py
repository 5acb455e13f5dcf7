"""A module of this repository as it was at an earlier commit, imported beside today's: for scripts that compare
one piece of code before and after a change in one process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def module_at(commit: str, path: str) -> ModuleType:
    """`path` (`service/schema_links.py`) as it was at `commit`, imported under a name of its own."""
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    name = Path(path).stem + "_at_" + commit[:12]
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
