"""`crampkg diff` release notes between two real builds, and what manifest.json records.

The new build edits a copy of the minimal corpus in known ways (and moves it to another base,
which the notes must see through); the notes must list exactly those edits.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.build import build, run_pipeline
from pipeline.cli import main
from pipeline.diff import load_build, release_notes, to_markdown
from pipeline.manifest import build_manifest, data_commit
from pipeline.vocab import SCHEMAORG_RELEASE
from tests.conftest import MINIMAL

NEW_ENTITY = """  - id: night-cramp
    type: condition
    label: Night cramp
"""
NEW_CLAIM = """  - id: t-fatigue-cause
    source: test-article
    subject: muscle-cramp
    predicate: has-cause
    object: muscle-fatigue
    stance: hypothesis
    evidence:
      - quote: "cramps are related to muscle fatigue"
"""


def _edit(data: Path) -> None:
    def sub(path: str, old: str, new: str) -> None:
        file = data / path
        text = file.read_text()
        assert old in text, (path, old)
        file.write_text(text.replace(old, new, 1))

    sub("dataset.yaml", "https://example.org/kg/", "https://example.org/kg2/")
    sub("entities/entities.yaml", "[Charley horse]", "[Charley horse, Night leg cramp]")
    sub("entities/entities.yaml", "  - id: pain\n", NEW_ENTITY + "  - id: pain\n")
    claims = "claims/test-article.yaml"
    fatigue = "object: muscle-fatigue\n    stance: "
    sub(claims, fatigue + "hypothesis", fatigue + "supports")
    sub(claims, '"Muscle cramps are sudden"', '"Muscle cramps are sudden, painful"')
    text = (data / claims).read_text()
    text = re.sub(r"  - id: t-calf\n(?:    .*\n)*", "", text)
    (data / claims).write_text(text + NEW_CLAIM)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    shutil.copytree(MINIMAL, root / "new-data")
    _edit(root / "new-data")
    for name, data in (("old", MINIMAL), ("new", root / "new-data")):
        result = build(data, root / name)
        assert result.report.conforms, result.report.to_text()
    return root / "old", root / "new"


def test_no_changes_between_a_build_and_itself(dists: tuple[Path, Path]) -> None:
    old = load_build(dists[0])
    notes = release_notes(old, old)
    assert all(
        n == 0
        for kind in ("entities", "claims", "evidence")
        for n in notes["counts"][kind].values()
    )
    assert notes["bySubject"] == []
    assert "No changes." in to_markdown(notes)


def test_notes_list_exactly_the_edits(dists: tuple[Path, Path]) -> None:
    notes = release_notes(load_build(dists[0]), load_build(dists[1]))
    assert notes["counts"] == {
        "entities": {"added": 1, "removed": 0, "changed": 1},
        "claims": {"added": 1, "removed": 1, "changed": 2},
        "evidence": {"added": 1, "removed": 1, "changed": 1},
        "stanceChanges": 1,
    }
    assert [e["id"] for e in notes["entities"]["added"]] == ["night-cramp"]
    [changed] = notes["entities"]["changed"]
    alt_label = {"property": "skos:altLabel", "removed": [], "added": ["Night leg cramp"]}
    assert changed["changes"] == [alt_label]
    assert [c["id"] for c in notes["claims"]["added"]] == ["t-fatigue-cause"]
    assert [c["id"] for c in notes["claims"]["removed"]] == ["t-calf"]
    assert [c["id"] for c in notes["claims"]["changed"]] == ["t-fatigue", "t-sudden"]
    assert notes["evidence"] == {
        "added": ["t-fatigue-cause/evidence/1"],
        "removed": ["t-calf/evidence/1"],
        "changed": ["t-sudden/evidence/1"],
    }
    [stance] = notes["stanceChanges"]
    assert (stance["id"], stance["from"], stance["to"]) == ("t-fatigue", "hypothesis", "supports")
    [group] = notes["bySubject"]
    assert (group["id"], group["label"]) == ("muscle-cramp", "Muscle cramp")
    assert group["counts"] == {"added": 1, "removed": 1, "changed": 2, "stanceChanges": 1}
    assert notes["old"]["base"] != notes["new"]["base"]


def test_markdown_calls_out_stance_changes_per_condition(dists: tuple[Path, Path]) -> None:
    text = to_markdown(release_notes(load_build(dists[0]), load_build(dists[1])))
    assert "**The base changed**" in text
    assert "| claims | 1 | 1 | 2 |" in text
    assert "## Stance changes" in text
    stance = (
        "`t-fatigue` (Muscle cramp has-risk-factor → Muscle fatigue): hypothesis → **supports**"
    )
    assert stance in text
    assert "### Muscle cramp (`muscle-cramp`, Condition)" in text
    assert "- removed `t-calf` supports: has-prevention → Calf stretch" in text
    assert "“Muscle cramps are sudden” → “Muscle cramps are sudden, painful”" in text


def test_cli_diff_formats_and_exit_codes(
    dists: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = map(str, dists)
    assert main(["diff", old, new, "--format", "json"]) == 0
    notes = json.loads(capsys.readouterr().out)
    assert notes["counts"]["stanceChanges"] == 1
    out = tmp_path / "NOTES.md"
    assert main(["diff", old, new, "-o", str(out)]) == 0
    assert out.read_text().startswith("# Release notes")
    assert main(["diff", old, str(tmp_path / "missing")]) == 2
    assert "no graph.nt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["diff", old])
    assert exc.value.code == 2


# ------------------------------------------------------------------ manifest


def test_manifest_records_schemaorg_release_and_context(dists: tuple[Path, Path]) -> None:
    manifest = json.loads((dists[0] / "manifest.json").read_text())
    assert manifest["schemaOrgRelease"] == SCHEMAORG_RELEASE == "30.0"
    assert manifest["apiContext"] == "https://example.org/kg/context/v1.jsonld"
    paths = {f["path"] for f in manifest["files"]}
    assert {"api/index.json", "api/conditions/muscle-cramp.json", "context/v1.jsonld"} <= paths


def _git(cwd: Path, *args: str) -> str:
    run = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return run.stdout.strip()


def test_data_commit_of_a_git_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(MINIMAL, repo / "data")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "data")
    head = _git(repo, "rev-parse", "HEAD")
    assert data_commit(repo / "data") == head
    result = run_pipeline(repo / "data", validate=False)
    assert result.corpus is not None
    manifest = build_manifest(result.digests, result.corpus, "0", 1, data_dir=repo / "data")
    assert json.loads(manifest)["dataset"]["gitCommit"] == head


def test_no_data_commit_outside_git_or_without_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "data").mkdir()
    assert data_commit(tmp_path / "data") is None
    assert data_commit(tmp_path / "missing") is None
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert data_commit(MINIMAL) is None
