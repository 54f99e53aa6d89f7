"""`site/index.html` and `site/<condition>.html`: readable pages with their markup embedded."""

from __future__ import annotations

from pipeline.exporters.base import ExportContext, Output, later
from pipeline.exporters.schemaorg import pages
from pipeline.markup.evidence import ConditionView
from pipeline.site.html import condition_page, index_page


class SiteExporter:
    name = "site"
    description = "a static HTML page per condition, with evidence map and embedded markup"

    def export(self, ctx: ExportContext) -> dict[str, Output]:
        built = pages(ctx)
        dataset = ctx.corpus.dataset
        title = dataset.title if dataset else "Conditions"
        ids = {v.entity.id for v in built.views}
        files: dict[str, Output] = {
            "site/index.html": index_page(
                built.views, site_title=title, description=dataset.description if dataset else None
            ).encode()
        }

        def page(view: ConditionView) -> bytes:
            return condition_page(
                view,
                built.docs[view.entity.id],
                corpus=ctx.corpus,
                policy=built.policy,
                pages=ids,
                base=ctx.graph.base,
                site_title=title,
                vocab_version=built.vocab.version,
            ).encode()

        for view in built.views:  # each page made as it is written
            files[f"site/{view.entity.id}.html"] = later(lambda v=view: page(v))  # type: ignore[misc]
        return files
