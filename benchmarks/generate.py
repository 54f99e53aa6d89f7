"""Write a synthetic but realistic data folder of N conditions that `crampkg build` accepts.

Per condition: one source (a text snapshot in English with a boilerplate block, and three
references with DOIs), one file with nine linked entities (codes in their systems' formats) and
twenty claims whose evidence quotes sentences of the snapshot; a few shared entities link the
conditions together. Seeded and deterministic: the same arguments write the same bytes.

    python benchmarks/generate.py --conditions 1000 --out /tmp/bench-1000
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
from pathlib import Path

ROOTS = [
    "calci",
    "myo",
    "neuro",
    "fibro",
    "tendo",
    "vaso",
    "osteo",
    "derma",
    "cardio",
    "gastro",
    "hepato",
    "nephro",
    "spondyl",
]
STEMS = [
    "ral",
    "tan",
    "vex",
    "dor",
    "lin",
    "mar",
    "sol",
    "ber",
    "quin",
    "tor",
    "fen",
    "gal",
    "rho",
    "zan",
    "pel",
    "cor",
]
ENDINGS = ["itis", "osis", "algia", "emia", "pathy", "plegia", "trophy", "spasm"]
ADJ = ["sudden", "chronic", "mild", "severe", "recurrent", "nocturnal", "painful", "transient"]
PLACES = ["calf", "thigh", "foot", "hand", "back", "neck", "shoulder", "forearm"]
VERBS = ["suggests", "reports", "notes", "explains", "states", "describes"]
SHARED = [
    ("dehydration", "condition", "Dehydration"),
    ("hypokalemia", "condition", "Low potassium"),
    ("pregnancy", "risk-factor", "Pregnancy"),
    ("older-age", "risk-factor", "Older age"),
    ("stretching", "treatment", "Stretching the affected muscle"),
    ("massage", "treatment", "Massage"),
    ("hydration", "prevention", "Drinking enough fluids"),
    ("warm-up", "prevention", "Warming up before exercise"),
]


def _name(rng: random.Random) -> str:
    return rng.choice(ROOTS) + rng.choice(STEMS) + rng.choice(ENDINGS)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _code(system: str, code: str, label: str) -> str:
    return (
        f"      - system: {system}\n        code: {_q(code)}\n        label: {_q(label)}\n"
        "        match: exact\n        status: verified\n"
    )


def condition(i: int, rng: random.Random) -> tuple[str, str, str, str]:
    """(slug, source yaml, snapshot text, condition yaml) of condition number i."""
    name = _name(rng)
    slug = f"c{i:05d}-{name}"
    label = f"{name.capitalize()} type {i}"
    place = rng.choice(PLACES)
    ents = {
        "cond": ("condition", label),
        "risk": ("risk-factor", f"Prolonged {rng.choice(ADJ)} strain of the {place}"),
        "risk2": ("risk-factor", f"Low {rng.choice(STEMS)}{rng.choice(STEMS)} intake"),
        "mech": ("mechanism", f"{rng.choice(ROOTS).capitalize()}nerve overactivity {i}"),
        "treat": ("treatment", f"{place.capitalize()} rest and heat for {name}"),
        "drug": ("drug", f"{rng.choice(STEMS).capitalize()}{rng.choice(STEMS)}amine"),
        "prev": ("prevention", f"Regular {place} exercise programme {i}"),
        "sympt": ("symptom", f"{rng.choice(ADJ).capitalize()} {place} pain in {name}"),
        "anat": ("anatomy", f"{place.capitalize()} muscle group {i}"),
    }
    linked, remedy, habit = SHARED[i % 4][0], SHARED[4 + i % 2][0], SHARED[6 + i % 2][0]
    ref = lambda k: f"ref-{slug}-{k}"  # noqa: E731
    year = 1990 + rng.randrange(34)
    adj, verb = rng.choice(ADJ), rng.choice(VERBS)
    e = {k: v[1].lower() for k, v in ents.items()}
    relation = [  # (predicate, subject key, object key or None, sentence)
        (
            "has-cause",
            "cond",
            "risk",
            f"The main cause of {e['cond']} is {e['risk']}, as the clinic {verb}.",
        ),
        (
            "has-risk-factor",
            "cond",
            "risk",
            f"People with {e['risk']} are at greater risk of this disorder.",
        ),
        (
            "has-risk-factor",
            "cond",
            "risk2",
            f"A diet with {e['risk2']} also raises the risk of attacks.",
        ),
        (
            "has-mechanism",
            "cond",
            "mech",
            f"Doctors think the attacks come from {e['mech']} in the spine.",
        ),
        (
            "has-treatment",
            "cond",
            "treat",
            f"Most patients get better with {e['treat']} within a week.",
        ),
        (
            "has-treatment",
            "cond",
            "drug",
            f"The drug {e['drug']} (10 mg/day) can help in {adj} cases.",
        ),
        ("has-prevention", "cond", "prev", f"A {e['prev']} lowers the chance of a new episode."),
        ("has-symptom", "cond", "sympt", f"The typical complaint is {e['sympt']} at night."),
        ("affects-anatomy", "cond", "anat", f"The disorder mostly affects the {e['anat']}."),
        ("involves", "mech", "anat", f"This overactivity involves the {e['anat']} directly."),
        ("leads-to", "mech", "sympt", f"Over time the overactivity leads to {e['sympt']}."),
        ("leads-to", "risk", "mech", f"Long periods of strain lead to {e['mech']} in many people."),
        (
            "has-adverse-effect",
            "drug",
            "sympt",
            f"In rare cases {e['drug']} itself causes {e['sympt']}.",
        ),
        ("has-cause", "cond", "mech", f"In some people the cause is simply {e['mech']}."),
        ("associated-with", "cond", linked, f"The disorder is often seen together with {linked}."),
        ("has-treatment", "cond", remedy, f"Some experts also recommend {remedy} for episode {i}."),
        ("has-prevention", "cond", habit, f"Simple {habit} habits keep many people free of it."),
    ]
    values = [
        ("characteristic", f"The attacks of {e['cond']} are {adj} and short."),
        ("epidemiology", f"About {rng.randrange(2, 40)} in every 1,000 adults have {e['cond']}."),
        (
            "natural-progression",
            f"Without treatment {e['cond']} usually settles after {rng.randrange(2, 9)} weeks.",
        ),
        (
            "seek-care-when",
            f"See a doctor if the pain of {e['cond']} lasts longer than "
            f"{rng.randrange(2, 6)} days.",
        ),
    ]
    sentences = [s for *_, s in relation] + [s for _, s in values]
    fillers = [
        f"This page was written in {year} for readers in the {place} clinic network.",
        f"Write down when each episode of {e['cond']} starts and how long it lasts.",
        "Your own doctor can tell you more about what is right for you.",
    ]
    paras = [" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4)]
    text = (
        f"{label}: what you should know\n\n"
        + "\n\n".join(
            [*paras[:2], "Advertisement: buy our shoes today, the best in town.", *paras[2:]]
        )
        + "\n\n"
        + "\n\n".join(fillers)
        + f"\n\nReferences\n1. Doe A. {label}. J Syn Med. {year};1:1-9.\n"
    )
    src = (
        f"source:\n  id: src-{slug}\n  text: {slug}.txt\n"
        f"  sha256: {hashlib.sha256(text.encode()).hexdigest()}\n"
        f"  title: {_q(label + ': what you should know')}\n  publisher: Synthetic Health\n"
        f"  authors:\n    - name: Writer {i % 97}\n      role: health writer\n"
        f'  published: "{year}-0{1 + i % 9}-1{i % 10}"\n  audience: patient\n'
        "  kind: editorial-article\n  language: en\n"
        '  boilerplate:\n    - start: "Advertisement:"\n      end: "the best in town."\n'
        "references:\n"
    )
    for k in range(1, 4):
        src += (
            f'  - id: {ref(k)}\n    marker: "{k}"\n'
            f'    citation: "Doe A{k}. {label} study {k}. J Syn Med. {year};{k}:1-9. '
            f'doi:10.5555/syn.{i}.{k}"\n'
            f'    title: {_q(f"{label} study {k}")}\n    authors: ["Doe A{k}"]\n    year: {year}\n'
            f'    container: J Syn Med\n    doi: "10.5555/syn.{i}.{k}"\n'
            "    kind: journal-article\n    peerReviewed: true\n"
        )
    ent = "entities:\n"
    for key, (type_, lab) in ents.items():
        ent += f"  - id: {slug}-{key}\n    type: {type_}\n    label: {_q(lab)}\n"
        if key == "cond":
            ent += f"    description: {_q(f'A synthetic condition number {i}.')}\n    codes:\n"
            ent += _code("MeSH", f"D{i:06d}", lab)
            ent += _code("ICD-10-CM", f"M{i // 100 % 100:02d}.{i % 100:02d}", lab)
        elif key == "drug":
            ent += "    codes:\n" + _code("DrugBank", f"DB{i:05d}", lab)
        elif key == "anat":
            ent += "    codes:\n" + _code("UBERON", f"UBERON:{i:07d}", lab)
    claims = "claims:\n"
    for n, (pred, subj, obj, sentence) in enumerate(relation):
        sid = f"{slug}-{subj}"
        oid = obj if obj in [s for s, _, _ in SHARED] else f"{slug}-{obj}"
        claims += (
            f"  - id: {slug}-{n:02d}\n    source: src-{slug}\n    subject: {sid}\n"
            f"    predicate: {pred}\n    object: {oid}\n"
            f"    stance: {('supports', 'hypothesis')[n % 2]}\n"
        )
        if pred == "has-treatment" and obj == "drug":
            claims += "    dose: {value: 10, unit: mg/day}\n"
        claims += (
            f'    evidence:\n      - quote: {_q(sentence)}\n        markers: ["{1 + n % 3}"]\n'
        )
    for n, (pred, sentence) in enumerate(values, start=len(relation)):
        claims += (
            f"  - id: {slug}-{n:02d}\n    source: src-{slug}\n    subject: {slug}-cond\n"
            f"    predicate: {pred}\n    value: {_q(sentence)}\n    stance: mentions\n"
            f"    evidence:\n      - quote: {_q(sentence)}\n"
        )
    return slug, src, text, ent + claims


def generate(conditions: int, out: Path, seed: int = 1) -> None:
    if out.exists():
        shutil.rmtree(out)
    for sub in ("conditions", "sources", "entities"):
        (out / sub).mkdir(parents=True)
    (out / "dataset.yaml").write_text(
        "dataset:\n  title: Synthetic health catalogue\n"
        f"  description: {conditions} generated conditions for the performance benchmark.\n"
        "  base: https://example.org/bench/\n"
        "  license: https://creativecommons.org/licenses/by/4.0/\n"
        '  version: "1.0.0"\n  publisher: crampkg benchmark\n'
    )
    shared = "entities:\n" + "".join(
        f"  - id: {sid}\n    type: {t}\n    label: {lab}\n"
        + ("    codes:\n" + _code("MeSH", f"D{900000 + k:06d}", lab) if t == "condition" else "")
        for k, (sid, t, lab) in enumerate(SHARED)
    )
    (out / "entities" / "shared.yaml").write_text(shared)
    rng = random.Random(seed)
    for i in range(conditions):
        slug, src, text, cond = condition(i, rng)
        (out / "sources" / f"{slug}.yaml").write_text(src)
        (out / "sources" / f"{slug}.txt").write_text(text)
        (out / "conditions" / f"{slug}.yaml").write_text(cond)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.conditions, args.out, args.seed)


if __name__ == "__main__":
    main()
