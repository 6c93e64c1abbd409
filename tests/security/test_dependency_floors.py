"""Issue row 13: every direct dependency (and Werkzeug, urllib3, tornado) has a patched floor,
and the installed set is at or above it.

pip-audit would be the better check, but it needs a vulnerability database: its
PyPI source (`pip-audit -s pypi`) asks pypi.org per installed version, and the
versions installed here come from a local wheelhouse pypi.org does not list
("Dependency not found on PyPI"), so it audits nothing. Instead the known CVEs
of each package are listed below with their first fixed version.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.stack import ROOT

#: package -> [(CVE, first fixed version)]
KNOWN = {
    "flask": [("CVE-2023-30861", "2.3.2"), ("CVE-2025-47278", "3.1.1")],
    "werkzeug": [("CVE-2024-34069", "3.0.3"), ("CVE-2024-49767", "3.0.6")],
    "celery": [("CVE-2021-23727", "5.2.2")],
    "requests": [("CVE-2024-35195", "2.32.0"), ("CVE-2024-47081", "2.32.4")],
    "urllib3": [("CVE-2024-37891", "2.2.2"), ("CVE-2025-50181", "2.5.0"), ("CVE-2025-66471", "2.6.0")],
    "cryptography": [("CVE-2024-26130", "42.0.4"), ("CVE-2024-12797", "44.0.1")],
    "pydantic": [("CVE-2024-3772", "2.4.0")],
    "gunicorn": [("CVE-2024-1135", "22.0.0"), ("CVE-2024-6827", "23.0.0")],
    "flower": [("CVE-2022-30034", "1.2.0")],
    "tornado": [("CVE-2024-52804", "6.4.2"), ("CVE-2025-47287", "6.5")],
}
TRANSITIVE = {"werkzeug", "urllib3", "tornado"}


def _requirements() -> dict[str, Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = [Requirement(text) for text in data["project"]["dependencies"]]
    return {r.name.lower(): r for r in reqs}


def _floor(req: Requirement) -> Version | None:
    floors = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return max(floors) if floors else None


def test_every_direct_dependency_and_the_named_transitive_ones_have_a_floor():
    reqs = _requirements()
    assert TRANSITIVE <= set(reqs)
    for name, req in reqs.items():
        assert _floor(req) is not None, f"{name} has no lower bound"


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_floors_exclude_versions_with_known_cves(name):
    floor = _floor(_requirements()[name])
    for cve, fixed in KNOWN[name]:
        assert floor >= Version(fixed), f"{name}>={floor} admits {cve} (fixed in {fixed})"


@pytest.mark.parametrize("name", sorted(_requirements()))
def test_installed_versions_meet_the_floors(name):
    req = _requirements()[name]
    installed = version(req.name)
    assert req.specifier.contains(installed, prereleases=True), f"{name} {installed} is not {req.specifier}"
