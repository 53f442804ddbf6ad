"""The docs stay true to the code: links resolve, documented values match the code,
and the documented commands that need no network or running stack are run.

The README stays short enough to read in five minutes; every relative link (and
``#anchor``) in README.md, CONTRIBUTING.md and docs/ points at a file and heading that
exist; every ``make`` target the docs name exists; the ``Cache-Control`` values the
docs give for the container's pages are the ones the container sends.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOCS = sorted([PROJECT_DIR / "README.md", PROJECT_DIR / "CONTRIBUTING.md", *(PROJECT_DIR / "docs").glob("*.md")])
README_MAX_LINES = 150
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE):
        slug, n = _slug(heading), 1
        while slug in found:
            slug, n = f"{_slug(heading)}-{n}", n + 1
        found.add(slug)
    return found


def test_the_readme_is_short() -> None:
    lines = (PROJECT_DIR / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to a docs/ page"


def test_the_slugs_are_githubs() -> None:
    assert _slug("POST /orders/{order_id}/pay") == "post-ordersorder_idpay"
    assert _slug("`make token` or `make import` says the stack is not running") == \
        "make-token-or-make-import-says-the-stack-is-not-running"
    assert _slug("The function's IAM policy") == "the-functions-iam-policy"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(FENCE.sub("", doc.read_text())):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target}: no file {path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    assert not broken, "\n".join(broken)


def _make_targets() -> set[str]:
    text = (PROJECT_DIR / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


# Targets the docs already describe while their work is being landed this session, with
# who brings them. An entry must go as soon as its target exists (the test says so).
PENDING_TARGETS: dict[str, str] = {}


def _named_targets(text: str) -> set[str]:
    """``make X`` in inline code or at the start of a line of a code block (not prose like 'make sure')."""
    return set(re.findall(r"(?:`|^)make (?:-s )?([a-z][a-z0-9-]*)", text, flags=re.MULTILINE))


def test_every_make_target_the_docs_name_exists() -> None:
    targets = _make_targets()
    named = {(doc.name, target) for doc in DOCS for target in _named_targets(doc.read_text())}
    assert len(named) >= 10
    missing = sorted((doc, target) for doc, target in named if target not in targets | PENDING_TARGETS.keys())
    assert not missing, missing
    landed = sorted(PENDING_TARGETS.keys() & targets)
    assert not landed, f"remove {landed} from PENDING_TARGETS: the Makefile has them now"


def test_the_documented_cache_control_is_what_the_container_sends() -> None:
    from storefront_server import app

    local = (PROJECT_DIR / "docs" / "local.md").read_text()
    assert "`/p/{id}` renders the product" in local
    for value in (app.PRODUCT_CACHE, app.NOT_FOUND_CACHE, app.SITEMAP_CACHE):
        assert f"Cache-Control: {value}`" in local, value
    documented = set(re.findall(r"Cache-Control: ([^`]+)`", local))
    assert documented == {app.PRODUCT_CACHE, app.NOT_FOUND_CACHE, app.SITEMAP_CACHE}


# Commands the docs give that need neither the network nor a running stack, run as written
# (with this interpreter for .venv/bin/python and output into a temporary directory).
OFFLINE_COMMANDS = [
    ".venv/bin/python -m infra synth --stage prod --out build/infra/prod",
    ".venv/bin/python -m infra policies --stage prod",
    "python -m infra cost --stage prod",
    "make help",
]


@pytest.mark.parametrize("command", OFFLINE_COMMANDS)
def test_a_documented_offline_command_runs(command: str, tmp_path: Path) -> None:
    text = "\n".join(doc.read_text() for doc in DOCS)
    assert command in text, f"no longer documented: {command}"
    argv = shlex.split(command.replace("[", "").replace("]", ""))  # optional flags: run with them
    if argv[0] in (".venv/bin/python", "python"):
        argv[0] = sys.executable
    if "--out" in argv:
        argv[argv.index("--out") + 1] = str(tmp_path / "out")
    if argv[0] == "make":
        argv += [f"PY={sys.executable}", "STAMP="]
    result = subprocess.run(argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    if "synth" in argv:
        assert len(list((tmp_path / "out").glob("*.json"))) >= 8
    if "cost" in argv:
        assert result.stdout.strip().splitlines()[-1].startswith("total ")  # as the docs say


def test_make_help_lists_the_commands_the_readme_gives() -> None:
    result = subprocess.run(["make", "-s", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    for command in ("make dev", "make test", "make token", "make import"):
        assert command in result.stdout, command


def test_the_rehearsal_runs_the_documented_bootstrap_in_its_order() -> None:
    """`make rehearse` runs docs/deploy.md's bootstrap commands, as written there and in that order."""
    from infra import rehearse

    deploy = (PROJECT_DIR / "docs" / "deploy.md").read_text()
    bootstrap = deploy.split("## Bootstrap a stage once", 1)[1].split("\n## ", 1)[0]
    positions = []
    for step in rehearse.steps():
        if not step.command:
            continue
        command = rehearse.documented(step.command)
        assert f"`{command}`" in bootstrap or command in _push_section(deploy), f"not documented: {command}"
        if step.number[0].isdigit():
            # A command documented twice (the container stack, before and after its image) is
            # looked for after the previous step's.
            start = positions[-1] + 1 if positions else 0
            found = bootstrap.find(f"`{command}`", start)
            positions.append(found if found >= 0 else bootstrap.index(f"`{command}`"))
    assert positions == sorted(positions), "the rehearsal's steps are not in the documented order"
    documented_commands = re.findall(r"`((?:make|\.venv/bin/python -m infra) [^`]*STAGE=prod[^`]*|"
                                     r"\.venv/bin/python -m infra deploy --stage prod[^`]*)`", bootstrap)
    rehearsed = {rehearse.documented(step.command) for step in rehearse.steps() if step.command}
    skipped = [command for command in documented_commands if command not in rehearsed]
    assert skipped == [], f"documented bootstrap commands the rehearsal does not run: {skipped}"


def _push_section(deploy: str) -> str:
    return deploy.split("## Then: push to deploy", 1)[1].split("\n## ", 1)[0]
