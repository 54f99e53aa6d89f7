"""The evidence map: a condition in the middle, what causes it and raises its risk on the left,
what treats and prevents it on the right, drawn as inline SVG at build time.

Each edge shows the relation's status twice (colour and dash pattern, so it survives grey-scale
printing and colour blindness) and, in its badge and width, how many independent sources back
it (copies and reader comments are not counted). The layout is a pure function of the view:
rows in the order of the page, fixed sizes, no randomness, so the SVG is byte-identical from
build to build. It carries a title, a description and a legend, and needs no script.
"""

from __future__ import annotations

from html import escape

from pipeline.markup.evidence import STATUS_LABELS, STATUSES, ConditionView, Relation

WIDTH = 960
BOX_W, BOX_H, ROW = 270, 24, 30
LEFT_X, RIGHT_X = 16, WIDTH - 16 - BOX_W
CENTER_W, CENTER_H = 210, 52
CENTER_X = (WIDTH - CENTER_W) // 2
LEGEND_H = 70
MAX_ROWS = 12  # per group: the picture is for a glance, the full lists are below it
MAX_CHARS = 33

GROUPS = (
    ("left", "causes", "Causes and mechanisms"),
    ("left", "risk-factors", "Risk factors"),
    ("right", "treatments", "Treatments"),
    ("right", "preventions", "Prevention"),
)
# status -> (stroke, fill, dash pattern)
STYLE = {
    "supported": ("#1a7f37", "#dafbe1", ""),
    "reported": ("#0969da", "#ddf4ff", "8 3"),
    "disputed": ("#cf222e", "#ffebe9", "9 4 2 4"),
    "hypothesis": ("#9a6700", "#fff8c5", "2 4"),
    "mentioned": ("#6e7781", "#f6f8fa", "1 3"),
}


def _short(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _dash(status: str) -> str:
    dash = STYLE[status][2]
    return f' stroke-dasharray="{dash}"' if dash else ""


def _sources(n: int) -> str:
    return f"{n} independent source{'' if n == 1 else 's'}"


def _pick(rels: list[Relation]) -> list[Relation]:
    """At most MAX_ROWS relations, taken in turn from each status (best backed first), so a
    crowded group still shows its disputes and hypotheses; drawn in the page's order."""
    queues = [[r for r in rels if r.status == s] for s in STATUSES]
    chosen: set[int] = set()
    while len(chosen) < min(MAX_ROWS, len(rels)):
        for queue in queues:
            if queue and len(chosen) < MAX_ROWS:
                chosen.add(id(queue.pop(0)))
    return [r for r in rels if id(r) in chosen]


def _layout(view: ConditionView) -> dict[str, list[tuple[str, str, list[Relation], int]]]:
    """Per side: (group key, title, relations drawn, relations not drawn)."""
    sides: dict[str, list[tuple[str, str, list[Relation], int]]] = {"left": [], "right": []}
    for side, key, title in GROUPS:
        rels = [r for r in view.relations(key) if r.target is not None]
        if rels:
            drawn = _pick(rels)
            sides[side].append((key, title, drawn, len(rels) - len(drawn)))
    return sides


def _height(groups: list[tuple[str, str, list[Relation], int]]) -> int:
    return sum(ROW * (1 + len(rels) + (hidden > 0)) + 12 for _, _, rels, hidden in groups)


def _legend(statuses: list[str]) -> list[str]:
    out = ['<g class="legend" font-size="13">']
    x = 16
    for status in statuses:
        stroke = STYLE[status][0]
        out.append(
            f'<line x1="{x}" y1="20" x2="{x + 36}" y2="20" stroke="{stroke}" '
            f'stroke-width="3"{_dash(status)}/>'
            f'<text x="{x + 42}" y="24">{STATUS_LABELS[status]}</text>'
        )
        x += 60 + 8 * len(STATUS_LABELS[status])
    out.append(
        '<circle cx="26" cy="50" r="10" fill="#fff" stroke="#57606a"/>'
        '<text x="26" y="54" text-anchor="middle" font-size="11">2</text>'
        '<text x="42" y="54">independent sources backing a link (thicker line: more); '
        "copies and reader comments are not counted</text>"
    )
    out.append("</g>")
    return out


def _edge(side: str, y: int, cy: int, rel: Relation) -> list[str]:
    stroke = STYLE[rel.status][0]
    n = len(rel.backing)
    width = 1.5 + min(n, 4) * 0.75
    if side == "left":
        x1, x2 = LEFT_X + BOX_W, CENTER_X
    else:
        x1, x2 = RIGHT_X, CENTER_X + CENTER_W
    mid = (x1 + x2) // 2
    bx = x1 + (14 if side == "left" else -14)
    return [
        f'<path d="M{x1} {y} C{mid} {y} {mid} {cy} {x2} {cy}" fill="none" stroke="{stroke}" '
        f'stroke-width="{width:g}"{_dash(rel.status)}/>',
        f'<circle cx="{bx}" cy="{y}" r="10" fill="#fff" stroke="{stroke}"/>',
        f'<text x="{bx}" y="{y + 4}" text-anchor="middle" font-size="11">{n}</text>',
    ]


def _item(side: str, y: int, rel: Relation) -> list[str]:
    stroke, fill, _ = STYLE[rel.status]
    x = LEFT_X if side == "left" else RIGHT_X
    detail = f"{STATUS_LABELS[rel.status]}; backed by {_sources(len(rel.backing))}"
    if rel.disputing:
        detail += f", disputed by {_sources(len(rel.disputing))}"
    return [
        "<g>",
        f"<title>{escape(rel.label)}: {escape(detail)}</title>",
        f'<rect x="{x}" y="{y - BOX_H // 2}" width="{BOX_W}" height="{BOX_H}" rx="6" '
        f'fill="{fill}" stroke="{stroke}"{_dash(rel.status)}/>',
        f'<text x="{x + 10}" y="{y + 5}">{escape(_short(rel.label))}</text>',
        "</g>",
    ]


def evidence_map(view: ConditionView) -> str:
    """The inline `<svg>` element for one condition's page."""
    sides = _layout(view)
    body_h = max(_height(sides["left"]), _height(sides["right"]), CENTER_H + 2 * ROW)
    height = LEGEND_H + body_h + 8
    cy = LEGEND_H + body_h // 2
    drawn = [r for groups in sides.values() for _, _, rels, _ in groups for r in rels]
    present = [s for s in STATUSES if any(r.status == s for r in drawn)] or ["supported"]
    label = view.entity.label
    counts = ", ".join(
        f"{len(view.relations(key))} {title.lower()}"
        for _, key, title in GROUPS
        if view.relations(key)
    )
    by_status = ", ".join(
        f"{sum(r.status == s for r in drawn)} {STATUS_LABELS[s].lower()}" for s in present
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" class="evidence-map" '
        'aria-labelledby="map-title map-desc" font-family="system-ui, sans-serif" '
        'font-size="13" fill="#1f2328">',
        f'<title id="map-title">Evidence map: {escape(label)}</title>',
        f'<desc id="map-desc">{escape(label)} in the middle; around it {escape(counts or "no")}'
        f" links. Links drawn: {escape(by_status)}. Line style shows whether a link is "
        "supported, a hypothesis or disputed; the number on each link is how many "
        "independent sources back it.</desc>",
        *_legend(present),
    ]
    for side, groups in sides.items():
        y = LEGEND_H + (body_h - _height(groups)) // 2
        for _, title, rels, hidden in groups:
            x = LEFT_X if side == "left" else RIGHT_X
            y += ROW
            out.append(f'<text x="{x}" y="{y - 6}" font-weight="bold">{escape(title)}</text>')
            for rel in rels:
                y += ROW
                out += _edge(side, y - ROW // 2, cy, rel)
                out += _item(side, y - ROW // 2, rel)
            if hidden > 0:
                y += ROW
                out.append(
                    f'<text x="{x + 10}" y="{y - 10}" font-style="italic" fill="#57606a">'
                    f"+ {hidden} more in the list below</text>"
                )
            y += 12
    if not drawn:
        out.append(
            f'<text x="{WIDTH // 2}" y="{cy + CENTER_H // 2 + 24}" text-anchor="middle" '
            'font-style="italic" fill="#57606a">The sources name no cause, risk factor, '
            "treatment or prevention that this page may publish.</text>"
        )
    out += [
        f"<g><title>{escape(label)}</title>",
        f'<rect x="{CENTER_X}" y="{cy - CENTER_H // 2}" width="{CENTER_W}" height="{CENTER_H}" '
        'rx="10" fill="#24292f"/>',
        f'<text x="{WIDTH // 2}" y="{cy + 5}" text-anchor="middle" fill="#fff" font-size="15" '
        f'font-weight="bold">{escape(_short(label, 20))}</text></g>',
        "</svg>",
    ]
    return "\n".join(out)
