"""The documentation a user needs ships in the repository: nothing points outside it."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE, SHARED_REF = "../" + "shared", "shared" + "/reference"  # spelled apart: this file must not match itself


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout
    paths = [ROOT / name for name in out.decode().split("\0") if name]
    return [p for p in paths if p.is_file() and p.suffix in {".py", ".md", ".toml", ".txt", ".html", ".yaml", ".cfg", ""}]


def test_no_file_points_outside_the_repository():
    offenders = []
    for path in _tracked_text_files():
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE in line or SHARED_REF in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == [], f"these lines point outside the repository: {offenders}"


def test_the_contract_and_provider_notes_are_in_docs():
    contract = (ROOT / "docs" / "contract.md").read_text()
    providers = (ROOT / "docs" / "providers.md").read_text()
    for heading in ("## 1. Conventions", "## 2. Push endpoints", "## 3. Requests", "## 4. Identities",
                    "## 5. Stream API"):
        assert heading in contract
    # Code cites provider facts by section ("docs/providers.md §1.3", "reference §2.4"): every
    # cited section exists.
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)", providers, re.M))
    cited = set()
    for path in _tracked_text_files():
        if path.suffix == ".py":
            for group in re.findall(r"(?:reference|providers\.md) ((?:§\s?[\d.]+[,\s]*(?:and\s)?)+)", path.read_text()):
                cited.update(n.rstrip(".") for n in re.findall(r"§\s?([\d.]+)", group))
    assert cited, "expected the adapters and fakes to cite sections"
    assert cited <= sections, f"cited sections missing from docs/providers.md: {sorted(cited - sections)}"


def test_readme_links_into_docs():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / target).is_file(), target
    assert "docs/contract.md" in readme and "docs/providers.md" in readme
