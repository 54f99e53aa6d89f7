"""`schemaorg/<condition>.jsonld`: a schema.org `MedicalWebPage` per condition, checked.

Every document is checked against the vendored schema.org release (never fetched); each
problem goes into the build report as a violation, so a build with invalid markup fails and
writes nothing. The pages (pipeline/exporters/site.py) embed the very same documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.exporters.base import ExportContext
from pipeline.markup.embed import jsonld_file
from pipeline.markup.evidence import ConditionView, condition_views
from pipeline.markup.markup import entity_iri, page_markup
from pipeline.markup.policy import DEFAULT_POLICY, InclusionPolicy
from pipeline.markup.schemaorg_check import check_markup
from pipeline.markup.schemaorg_vocab import Vocabulary, vocabulary
from pipeline.report import Problem, Severity, Stage
from pipeline.triage import find_duplicates

# Until report.py has a stage of its own for markup, its problems are schema problems.
MARKUP_STAGE = Stage.MARKUP


@dataclass(frozen=True)
class Pages:
    policy: InclusionPolicy
    vocab: Vocabulary
    views: list[ConditionView]
    docs: dict[str, dict[str, Any]]  # condition id -> markup


_last: list[tuple[ExportContext, Pages]] = []  # the current export run's result


def pages(ctx: ExportContext) -> Pages:
    """Views and markup of every condition page, computed once per export run."""
    if _last and _last[0][0] is ctx:
        return _last[0][1]
    # The context may carry a policy and the triage (see docs/markup.md); else defaults.
    policy: InclusionPolicy = ctx.markup_policy or DEFAULT_POLICY
    triage = ctx.triage
    duplicates = triage.duplicates if triage is not None else find_duplicates(ctx.corpus)
    vocab = vocabulary()
    views = condition_views(ctx.corpus, duplicates, policy)
    docs = {v.entity.id: page_markup(v, vocab, policy, ctx.graph.base) for v in views}
    result = Pages(policy, vocab, views, docs)
    _last[:] = [(ctx, result)]
    return result


def markup_problems(ctx: ExportContext, built: Pages) -> list[Problem]:
    problems = []
    for view in built.views:
        e = view.entity
        for issue in check_markup(built.docs[e.id], built.vocab):
            problems.append(
                Problem(
                    Severity.VIOLATION,
                    MARKUP_STAGE,
                    issue.rule,
                    f"schema.org markup of {e.id!r} (schemaorg/{e.id}.jsonld, {issue.path}) "
                    f"is not valid against schema.org {built.vocab.version}: {issue.message}",
                    e.origin.item,
                    entity_iri(ctx.graph.base, e),
                )
            )
    return problems


class SchemaOrgExporter:
    name = "schemaorg"
    description = "schema.org MedicalWebPage markup per condition, checked against the vocabulary"

    def export(self, ctx: ExportContext) -> dict[str, bytes]:
        built = pages(ctx)
        ctx.report.extend(markup_problems(ctx, built))
        return {f"schemaorg/{cid}.jsonld": jsonld_file(doc) for cid, doc in built.docs.items()}
