"""environment.yml and pyproject.toml must list the same runtime packages."""

import re
import tomllib

import yaml

from tests.conftest import ROOT

CONDA_ONLY = {"python", "pip"}  # conda's own plumbing, not a course package


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    return name, m.group(2).replace(" ", "")


def pyproject_runtime(text: str) -> dict[str, str]:
    return dict(_split(r) for r in tomllib.loads(text)["project"]["dependencies"])


def conda_runtime(text: str) -> dict[str, str]:
    out = {}
    for dep in yaml.safe_load(text)["dependencies"]:
        if isinstance(dep, dict):  # the pip: section installs the course itself
            for pip_req in dep.get("pip", []):
                if not pip_req.startswith("-e"):
                    name, spec = _split(pip_req)
                    out[name] = spec
            continue
        name, spec = _split(dep)
        if name not in CONDA_ONLY:
            out[name] = spec
    return out


def drift(pyproject_text: str, env_text: str) -> list[str]:
    """Human-readable differences between the two files' runtime packages."""
    a, b = pyproject_runtime(pyproject_text), conda_runtime(env_text)
    problems = [f"{n} only in pyproject.toml" for n in sorted(a.keys() - b.keys())]
    problems += [f"{n} only in environment.yml" for n in sorted(b.keys() - a.keys())]
    problems += [f"{n}: pyproject {a[n]!r} vs environment {b[n]!r}" for n in sorted(a.keys() & b.keys()) if a[n] != b[n]]
    return problems


def test_environment_and_pyproject_list_the_same_packages():
    problems = drift((ROOT / "pyproject.toml").read_text(), (ROOT / "environment.yml").read_text())
    assert problems == [], "environment.yml and pyproject.toml drifted apart:\n" + "\n".join(problems)


def test_required_packages_are_listed():
    names = pyproject_runtime((ROOT / "pyproject.toml").read_text())
    assert {"jupyterlab", "numpy", "scipy", "matplotlib", "aiortc", "ipywidgets"} <= names.keys()


def test_drift_is_detected_on_bad_input():
    pyproject = (ROOT / "pyproject.toml").read_text()
    env = (ROOT / "environment.yml").read_text()
    missing = env.replace("  - scipy>=1.11\n", "")
    assert drift(pyproject, missing) == ["scipy only in pyproject.toml"]
    extra = env.replace("  - pip\n", "  - pip\n  - pandas\n")
    assert drift(pyproject, extra) == ["pandas only in environment.yml"]
    bumped = env.replace("numpy>=1.26", "numpy>=2.0")
    assert drift(pyproject, bumped) == ["numpy: pyproject '>=1.26' vs environment '>=2.0'"]
