"""Packaging: a non-editable install carries every model the package loads, and finds them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from classifier.pipeline import BLOCK_MODEL_FILE, HTML_MODEL_FILE, INSTALLED_MODEL_DIR, LID_MODEL_FILE


def _data_files(repo_root: Path) -> dict[str, list[str]]:
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["tool"]["setuptools"]["data-files"]


def _named_files(card: dict) -> set[str]:
    """The model files a card names: its own file and those of models it relies on."""
    names = {card["file"]}
    for value in card.values():
        if isinstance(value, dict) and isinstance(value.get("file"), str):
            names.add(value["file"])
    return names


def test_every_model_the_package_needs_is_installed_with_its_card(repo_root: Path) -> None:
    data_files = _data_files(repo_root)
    installed = set(data_files[INSTALLED_MODEL_DIR.as_posix()])
    needed = {BLOCK_MODEL_FILE, HTML_MODEL_FILE, LID_MODEL_FILE}
    for card_path in sorted((repo_root / "models").glob("*.json")):
        needed |= _named_files(json.loads(card_path.read_text(encoding="utf-8")))
    assert {HTML_MODEL_FILE, "lid.ftz"} <= needed
    for name in sorted(needed):
        assert (repo_root / "models" / name).is_file(), name
        assert f"models/{name}" in installed, f"models/{name} is not in pyproject's data-files"
        card = Path(name).with_suffix(".json").name
        assert f"models/{card}" in installed, f"models/{card} is not in pyproject's data-files"
    assert all((repo_root / path).is_file() for path in installed)


def test_a_non_editable_install_finds_the_installed_models(repo_root: Path, tmp_path: Path) -> None:
    """Lay the package and its data-files out as `pip install .` does in a virtual
    environment (package in site-packages, data-files under the environment's prefix)
    and ask that environment's Python where the models are, and load them."""
    env = tmp_path / "env"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env)  # scikit-learn etc. from this Python
    python = env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    shutil.copytree(repo_root / "classifier", purelib / "classifier",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (purelib / "models").mkdir()  # another distribution's top-level package named models: not ours
    for dest, files in _data_files(repo_root).items():
        (env / dest).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(repo_root / f, env / dest / Path(f).name)
    script = (
        "import json, classifier, classifier.pipeline as p\n"
        "from classifier.readers import RejectSink, read_any\n"
        "sieve = p.Sieve()\n"
        "sieve.check_models()\n"
        "page = next(read_any('page.html', RejectSink()))\n"
        "print(json.dumps({'package': classifier.__file__, 'models': str(p.default_model_dir()),\n"
        "                  'html': sieve.model_for(page) is sieve.html_model}))\n"
    )
    (tmp_path / "page.html").write_text("<html><body><nav><a href='/'>Home</a></nav><article><p>Residents of "
                                        "Port Aldwin voted to keep the ferry.</p></article></body></html>")
    proc = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "", "OMP_NUM_THREADS": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert Path(found["package"]).is_relative_to(purelib)  # the installed copy, not this checkout
    assert Path(found["models"]) == env / INSTALLED_MODEL_DIR
    assert found["html"] is True  # the HTML model was installed, found and loaded
