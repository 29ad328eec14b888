"""The repository explains itself: every document it names is in it, and nothing cites an outside authority.

A maintainer who clones berth has only what is in it. A comment that says "as the planning page says"
or points at a document the repository lacks sends them nowhere, so this scans every tracked text file
and fails on (a) a Markdown file name that names no file of the repository, or (b) a citation of a
planning document, an issue or a seed by number. It also checks that every relative Markdown link in
README.md and docs/ points at a file (and heading) that exists, and that docs/protocols.md lists every
route of the worker and of the control plane.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# NOTE: the forbidden names are assembled from parts, so this file passes its own scan.
PLANNING_DOCS = "|".join(("DESI" + "GN", "STY" + "LE"))
SEEDS = "se" + "eds"
SKIPPED = {"web/package-lock.json"}
# Reports the benchmarks write under artifacts/bench/ (git-ignored) at each run, named
# "<benchmark>-latest" with the Markdown suffix: named in code and docs, never tracked.
GENERATED = re.compile(r"^(serve|control|image)-latest\.md$")

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s)>\]\"'`]+", re.IGNORECASE)
# A document name: an optional path, a stem, `.md`; not part of a longer name (`README.md.j2`).
DOCUMENT = re.compile(r"(?<![\w./-])(/?(?:[\w.-]+/)*[\w.-]*\w\.md)(?![\w-]|\.\w)")
OUTSIDE_AUTHORITIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:{PLANNING_DOCS})\.md\b", re.IGNORECASE), "cites a planning document"),
    (
        re.compile(r"(?<![a-z])se" + r"eds?[ _-]?0\d\d(?!\d)", re.IGNORECASE),
        "cites a seed document by number",
    ),
    (re.compile(rf"\b{SEEDS}/", re.IGNORECASE), "cites the seed documents' folder"),
    (re.compile(r"\bthe " + r"issue\b", re.IGNORECASE), "cites an issue"),
    (re.compile(r"\bissues?[ _]?#?\d+\b", re.IGNORECASE), "cites an issue by number"),
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def document_exists(mention: str, source: str, tracked: frozenset[str]) -> bool:
    """Whether `mention` (a bare name or a path, as written in `source`) names a tracked file."""
    if GENERATED.match(posixpath.basename(mention)):
        return True
    if "/" not in mention:
        return any(posixpath.basename(path) == mention for path in tracked)
    relative = posixpath.normpath(posixpath.join(posixpath.dirname(source), mention))
    path = posixpath.normpath(mention.lstrip("/"))
    return relative in tracked or path in tracked or any(p.endswith("/" + path) for p in tracked)


def problems_in_text(text: str, source: str, tracked: frozenset[str]) -> list[str]:
    """One `source:line: what` per missing document or outside citation in `text`."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = URL.sub(" ", line)  # other projects' files and pages, behind their own address
        for match in DOCUMENT.finditer(line):
            if not document_exists(match.group(1), source, tracked):
                problems.append(
                    f"{source}:{number}: names {match.group(1)!r}, which is not in the repository"
                )
        for pattern, what in OUTSIDE_AUTHORITIES:
            for match in pattern.finditer(line):
                problems.append(
                    f"{source}:{number}: {what} ({match.group(0)!r}); state the fact or cite docs/"
                )
    return problems


def problems_in_file(path: Path, source: str, tracked: frozenset[str]) -> list[str]:
    """The problems of one file, or none for a binary file."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return problems_in_text(text, source, tracked)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub renders it: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"#{1,6}\s+(.*)", line)):
            found.add(slug(heading.group(1)))
    return found


def broken_links(markdown_file: Path, root: Path) -> list[str]:
    """Every relative `[text](target)` in one Markdown file whose file or `#heading` does not exist."""
    problems = []
    text = CODE_SPAN.sub(" ", FENCED.sub("", markdown_file.read_text(encoding="utf-8")))
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (markdown_file.parent / file_part).resolve() if file_part else markdown_file
        where = f"{markdown_file.relative_to(root).as_posix()}: [..]({target})"
        if not linked.exists() or not linked.is_relative_to(root):
            problems.append(f"{where} points at a file that does not exist")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{where} points at a heading that does not exist")
    return problems


def tracked_files() -> list[str]:
    """The files git tracks, and the new ones it would (not ignored): what a clone will hold."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in listed.decode().split("\0") if name]


def scan(files: Iterable[str], tracked: frozenset[str]) -> list[str]:
    problems = []
    for name in files:
        path = ROOT / name
        if name in SKIPPED or not path.is_file():  # deleted in the work tree, not yet in the index
            continue
        problems += problems_in_file(path, name, tracked)
    return problems


# the tree


def test_no_tracked_file_names_a_missing_document_or_an_outside_authority() -> None:
    files = tracked_files()
    tracked = frozenset(name for name in files if (ROOT / name).is_file())
    problems = scan(files, tracked)
    assert not problems, "\n".join(problems)


def test_the_maintainer_documents_exist_and_readme_links_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("architecture.md", "decisions.md", "protocols.md"):
        assert (ROOT / "docs" / name).is_file(), name
        assert f"(docs/{name})" in readme, f"README.md does not link docs/{name}"


def test_relative_links_in_readme_and_docs_resolve() -> None:
    markdown = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    problems = [problem for path in markdown if path.is_file() for problem in broken_links(path, ROOT)]
    assert not problems, "\n".join(problems)


# the checker itself

TRACKED = frozenset({"README.md", "docs/architecture.md", "benchmarks/README.md", "src/berth/spec.py"})


@pytest.mark.parametrize(
    "line",
    [
        "The deployment spec, exactly as DESIGN" + ".md's YAML.",
        "see ../shared/STYLE" + ".md for the habits",
        "`POST /predict`: seed " + "003's shape",
        "def test_predict_returns_seed_" + "003_shape():",
        "the guides in shared/" + SEEDS + "/ are the origin",
        "Targets (issue " + "3) are printed as PASS/FAIL lines",
        "as the " + "issue defines it",
        "fixed in issue #" + "12",
        "details in docs/missing" + ".md",
        "see NOTES" + ".md",
        "see /work/elsewhere/CHANGES" + ".md.",
    ],
)
def test_the_checker_flags_a_citation_of_what_the_repository_lacks(line: str) -> None:
    assert problems_in_text(line, "src/berth/example.py", TRACKED)


@pytest.mark.parametrize(
    "line",
    [
        "torch.manual_seed(params.seed)",
        'GenerationParams.parse({"temperature": 0.7, "seed": 1})',
        "SEED = 0  # the tiny models are seeded",
        "the OpenAI `seed` parameter makes sampling reproducible",
        "cert-manager's `letsencrypt-prod` issuer",
        "see README" + ".md and docs/architecture" + ".md#where-to-look",
        "benchmarks/README" + ".md describes the method",
        '"kubernetes-README' + '.md.j2"',
        "(ARTIFACTS / 'serve-latest" + ".md').write_text(markdown)",
        "https://github.com/other/project/blob/main/DESIGN" + ".md",
    ],
)
def test_the_checker_passes_random_seeds_urls_and_files_that_exist(line: str) -> None:
    assert problems_in_text(line, "src/berth/example.py", TRACKED) == []


def test_a_relative_path_is_resolved_from_the_file_that_names_it() -> None:
    assert document_exists("../README" + ".md", "docs/decisions.md", TRACKED)
    assert not document_exists("../NOTES" + ".md", "docs/decisions.md", TRACKED)


def test_the_checker_fails_on_a_bad_file_and_skips_binaries(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('"""Shapes from seed ' + "003, see DESIGN" + '.md."""\n', encoding="utf-8")
    problems = problems_in_file(bad, "bad.py", TRACKED)
    assert len(problems) == 3, problems  # the missing file, the planning document, the seed
    assert all(problem.startswith("bad.py:1: ") for problem in problems)
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\0\1DESIGN" + b".md")
    assert problems_in_file(binary, "weights.bin", TRACKED) == []


def test_broken_links_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    md = ".md"  # NOTE: sample names assembled, so this file passes its own scan
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / f"b{md}").write_text("# The `two` lanes\n\n```\n# not a heading\n```\n")
    page = tmp_path / "docs" / f"a{md}"
    page.write_text(
        f"[ok](b{md}) [ok](b{md}#the-two-lanes) [web](https://example.com/x{md}) [self](#top)\n# Top\n"
        f"[gone](missing{md}) [no heading](b{md}#not-a-heading) [outside](../../elsewhere{md})\n"
        f"`[a-z]([-a-z]{{0,61}})` is a pattern, not a link\n```\n[nor](this{md})\n```\n"
    )
    problems = broken_links(page, tmp_path)
    assert len(problems) == 3, problems
    assert f"missing{md}" in problems[0]
    assert f"b{md}#not-a-heading" in problems[1]


# docs/protocols.md against the route tables

PARAMETER = re.compile(r"\{[^}]*\}")
WORKER_ROUTE = re.compile(r"\b[Rr]oute\(\s*\"(/[^\"]*)\"")


def documented_paths(markdown: str) -> set[str]:
    """Every path in a code span of `markdown`, parameters as `{}`, `[optional]` and `?query` dropped."""
    paths = set()
    for span in CODE_SPAN.findall(markdown):
        for word in span.strip("`").split():
            if word.startswith("/"):
                paths.add(PARAMETER.sub("{}", re.sub(r"(\[.*\]|\?.*)$", "", word)))
    return paths


def test_protocols_lists_every_route_of_the_worker() -> None:
    sources = [ROOT / "src/berth/worker/app.py", *sorted((ROOT / "src/berth/worker/protocols").glob("*.py"))]
    routes = {
        PARAMETER.sub("{}", path) for file in sources for path in WORKER_ROUTE.findall(file.read_text())
    }
    assert "/predict" in routes, "the route tables were not found"
    missing = routes - documented_paths((ROOT / "docs" / "protocols.md").read_text(encoding="utf-8"))
    assert not missing, f"docs/protocols.md does not list the worker's {sorted(missing)}"


def test_protocols_lists_every_route_of_the_control_plane(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.routing import WebSocketRoute

    from berth.control.app import create_app
    from berth.settings import Settings

    monkeypatch.chdir(tmp_path)  # no `.env` of the checkout
    app = create_app(Settings(home=tmp_path / "home", preload_workers=False))
    routes = set(app.openapi()["paths"])
    routes |= {route.path for route in app.routes if isinstance(route, WebSocketRoute)}
    routes = {PARAMETER.sub("{}", path) for path in routes}
    assert "/api/v1/deploy" in routes
    missing = routes - documented_paths((ROOT / "docs" / "protocols.md").read_text(encoding="utf-8"))
    assert not missing, f"docs/protocols.md does not list the control plane's {sorted(missing)}"
