"""docs/ and the README are self-contained: every relative link resolves to a file in the
repository, and no page sends readers to material outside it."""

from __future__ import annotations

import re
from pathlib import Path

from dock2uni import paths

LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
OUTSIDE = re.compile(r"(\.\./)+shared/|/work/shared")
# docs/benchmarks.md cites the published figures it compares with by their source;
# those two citations are attributions, not links a reader has to follow.
CITATIONS = {"benchmarks.md"}


def pages() -> list[Path]:
    return [paths.REPO / "README.md", *sorted((paths.REPO / "docs").glob("*.md"))]


def test_every_relative_link_stays_in_the_repository() -> None:
    repo = paths.REPO.resolve()
    bad = []
    for page in pages():
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a web address, which every reader can open
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(repo) or not resolved.exists():
                bad.append(f"{page.relative_to(repo)}: {target}")
    assert bad == []


def test_no_page_points_at_the_shared_references() -> None:
    bad = [
        f"{page.name}: {m.group(0)}"
        for page in pages()
        if page.name not in CITATIONS
        for m in OUTSIDE.finditer(page.read_text())
    ]
    assert bad == []
