"""pyproject.toml declares ranges, requirements/lock.txt pins the tested set, and the two agree.

The lock is resolved with the direct dependencies at their lower bounds (`make lock`), so a lower bound in
pyproject.toml is always a version CI has run; a range changed without `make lock` fails here.
"""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK_LINES = [line.strip() for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]


def locked() -> dict[str, Version]:
    """The lock's pins that apply to this interpreter (a universal lock has per-platform lines)."""
    pins: dict[str, Version] = {}
    for line in LOCK_LINES:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            [spec] = requirement.specifier
            pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def requirements_of(extra: str, seen: set[str] | None = None) -> list[Requirement]:
    """The requirements `pip install -e '.[extra]'` asks for, self-references (`polystack[...]`) expanded."""
    seen = set() if seen is None else seen
    found = []
    for text in PROJECT["optional-dependencies"][extra]:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == "polystack":
            for inner in sorted(requirement.extras - seen):
                seen.add(inner)
                found += requirements_of(inner, seen)
        else:
            found.append(requirement)
    return found


def dev_install() -> list[Requirement]:
    requirements = [Requirement(text) for text in PROJECT["dependencies"]] + requirements_of("dev")
    return [r for r in requirements if r.marker is None or r.marker.evaluate()]


def test_core_dependencies_are_ranges_not_pins():
    pinned = [text for text in PROJECT["dependencies"] if "==" in text]
    assert not pinned, f"exact pins belong in requirements/lock.txt, not in the project's metadata: {pinned}"
    for text in PROJECT["dependencies"]:
        assert ">=" in text, f"{text}: give the tested version as the lower bound"


def test_every_dependency_of_the_dev_install_is_locked_within_its_range_at_its_lower_bound():
    pins = locked()
    for requirement in dev_install():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/lock.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{requirement} excludes the locked {name}=={pins[name]}: run `make lock`")
        lower = [Version(spec.version) for spec in requirement.specifier if spec.operator in (">=", "==")]
        if lower:
            assert pins[name] == max(lower), (
                f"{requirement}: the lock tests {name}=={pins[name]}, so that should be the lower bound")


def test_the_lock_holds_only_plain_pins_pip_accepts_as_constraints():
    for line in LOCK_LINES:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[^\s;\[]+( ; .+)?", line), f"not a plain pin: {line}"


def test_make_install_applies_the_lock_as_constraints():
    makefile = (ROOT / "Makefile").read_text()
    install = next(line for line in makefile.splitlines() if "-e '.[dev]'" in line)
    assert "-c $(LOCK)" in install and "LOCK := requirements/lock.txt" in makefile


def test_openai_is_the_client_extra_not_a_core_dependency():
    assert not [text for text in PROJECT["dependencies"] if canonicalize_name(Requirement(text).name) == "openai"]
    assert [Requirement(text).name for text in PROJECT["optional-dependencies"]["client"]] == ["openai"]
    assert any(canonicalize_name(r.name) == "openai" for r in requirements_of("dev")), "the tests need the SDK"
