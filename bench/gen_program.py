#!/usr/bin/python3
"""gen_program.py - generate a large, realistic flow program for benchmarks.

Writes a root `main.flow` that imports ~N/1000 module files (`mod_017.flow`),
each full of enums, record types, model bindings, policies, contexts, prompts
with multi-line templates, evals, flows and tests, plus the small context
files (kb/) the modules read. Every top-level name carries its module's prefix
(`m017_`), so names are unique across the program. The program follows
docs/language.md and is meant to pass `flowc check` without errors or
warnings. Output is a pure function of the options (same --seed, same bytes).

usage: gen_program.py [--lines N] [--modules M] [--seed S] [--out DIR]
"""

import argparse
import json
import os
import random
import sys
import zlib
import struct

# --- vocabulary ---------------------------------------------------------------

NOUNS = [
    "ticket", "invoice", "order", "review", "claim", "lead", "incident",
    "contract", "article", "email", "resume", "listing", "shipment", "refund",
    "survey", "question", "transcript", "booking", "receipt", "complaint",
    "application", "report", "alert", "message", "proposal", "request",
]

PRIORITY_LADDERS = [
    ["low", "normal", "urgent"],
    ["low", "medium", "high", "critical"],
    ["minor", "major", "blocker"],
    ["p3", "p2", "p1", "p0"],
    ["trivial", "routine", "important", "severe", "emergency"],
]

STATUS_SETS = [
    ["open", "pending", "resolved", "closed"],
    ["draft", "submitted", "approved", "rejected", "paid"],
    ["created", "active", "archived"],
    ["received", "in_review", "accepted", "declined", "withdrawn"],
    ["queued", "running", "done", "cancelled"],
]

SENTIMENTS = ["negative", "neutral", "positive", "mixed"]
CHANNELS = ["email", "chat", "phone", "web", "api", "sms", "social"]
REGIONS = ["emea", "amer", "apac", "latam", "anz"]
TIERS = ["free", "starter", "pro", "enterprise"]

CATEGORIES = ["billing", "bug", "account", "shipping", "legal", "sales",
              "security", "feedback", "other"]

WORDS = ("customer account payment delivery refund product service quality "
         "support manager contract renewal schedule warehouse invoice credit "
         "balance portal password upgrade discount feature latency outage "
         "region language policy request deadline budget estimate supplier "
         "address package tracking warranty subscription license team").split()

INSTRUCTIONS = [
    "Read the whole {noun} before deciding anything.",
    "Be concise: one sentence per field unless told otherwise.",
    "Never invent facts that are not in the {noun}.",
    "If the {noun} mentions money, double-check the amounts.",
    "Prefer the most specific category that applies.",
    "Mark the {noun} for a human when you are unsure.",
    "Write in the language of the {noun}.",
    "Ignore signatures, disclaimers and quoted history.",
    "Keep personal data out of the summary.",
    "Use plain words; avoid jargon and abbreviations.",
    "Treat threats, legal words and safety issues as urgent.",
    "Do not promise refunds or dates that policy does not allow.",
]

PROVIDERS = [
    ("openai", ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o3-mini"]),
    ("anthropic", ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]),
    ("ollama", ["llama3.1:8b", "qwen2.5:14b", "mistral:7b"]),
    ("mock", ["mock-echo", "mock-fixed"]),
]


# --- types ----------------------------------------------------------------------
# A type is a tuple: ("string",) ("int",) ("float",) ("bool",)
# ("enum", EnumDecl) ("rec", RecDecl) ("list", t) ("opt", t) ("map", t).

class EnumDecl:
    def __init__(self, name, variants):
        self.name = name
        self.variants = variants


class RecDecl:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields  # list of (name, type)

    def field(self, name):
        for n, t in self.fields:
            if n == name:
                return t
        raise KeyError(name)


S, I, F, B = ("string",), ("int",), ("float",), ("bool",)


def tname(t):
    k = t[0]
    if k in ("string", "int", "float", "bool"):
        return k
    if k in ("enum", "rec"):
        return t[1].name
    if k == "list":
        return tname(t[1]) + "[]"
    if k == "opt":
        return tname(t[1]) + "?"
    if k == "map":
        return "map<string, " + tname(t[1]) + ">"
    raise ValueError(t)


def a_an(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def is_opt(t):
    return t[0] == "opt"


class Gen:
    """Generates one program; all randomness comes from self.r."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    # --- small helpers ---------------------------------------------------------

    def words(self, lo, hi):
        return " ".join(self.r.choice(WORDS) for _ in range(self.r.randint(lo, hi)))

    def phrase(self):
        w = self.words(2, 5)
        return w[0].upper() + w[1:]

    def lit(self, t, bare_enum=True, depth=0):
        """A literal of type t (expected type known from context)."""
        r = self.r
        k = t[0]
        if k == "string":
            return '"' + self.words(1, 4) + '"'
        if k == "int":
            return str(r.choice([0, 1, 2, 3, 5, 8, 12, 40, 250, 1_000]))
        if k == "float":
            return r.choice(["0.0", "0.25", "0.5", "0.75", "0.9", "1.0", "12.5", "99.99"])
        if k == "bool":
            return r.choice(["true", "false"])
        if k == "enum":
            v = r.choice(t[1].variants)
            return v if bare_enum and r.random() < 0.6 else t[1].name + "." + v
        if k == "rec":
            return self.rec_lit(t[1], depth + 1)
        if k == "list":
            n = 0 if depth >= 2 else r.randint(0, 2)
            return "[" + ", ".join(self.lit(t[1], False, depth + 1) for _ in range(n)) + "]"
        if k == "opt":
            return "none" if r.random() < 0.3 else self.lit(t[1], bare_enum, depth)
        if k == "map":
            n = r.randint(1, 2)
            keys = r.sample(WORDS, n)
            return "{ " + ", ".join('"%s": %s' % (kk, self.lit(t[1], False, depth + 1))
                                    for kk in keys) + " }"
        raise ValueError(t)

    def rec_lit(self, rec, depth=1, given=None, indent=None):
        """Record literal: every required field, some optional ones."""
        given = given or {}
        parts = []
        for n, t in rec.fields:
            if n in given:
                parts.append("%s: %s" % (n, given[n]))
            elif not is_opt(t) or self.r.random() < 0.4:
                parts.append("%s: %s" % (n, self.lit(t, True, depth)))
        one = rec.name + " { " + ", ".join(parts) + " }"
        if indent is None or len(one) + len(indent) <= 100:
            return one
        inner = indent + "  "
        return rec.name + " {\n" + ",\n".join(inner + p for p in parts) + "\n" + indent + "}"

    def show(self, expr, t):
        """A printable template expression for a value `expr` of type t."""
        k = t[0]
        if k in ("string", "int", "float", "bool", "enum"):
            return expr
        if k == "opt" and t[1][0] == "string":
            return '%s ?? "n/a"' % expr
        if k == "opt" and t[1][0] == "int":
            return "%s ?? 0" % expr
        if k == "opt" and t[1][0] == "float":
            return "%s ?? 0.0" % expr
        if k == "list" and t[1][0] == "string":
            return 'join(%s, ", ")' % expr
        if k == "list" and t[1][0] in ("int", "float"):
            return "sum(%s)" % expr
        if k == "rec":
            for n, ft in t[1].fields:
                if ft[0] in ("string", "int", "enum"):
                    return "%s.%s" % (expr, n)
        if k == "map" and self.r.random() < 0.5:
            return 'join(keys(%s), ", ")' % expr
        if k in ("list", "map") and self.r.random() < 0.5:
            return "len(%s)" % expr
        return "json(%s)" % expr


# --- one module ---------------------------------------------------------------------

class Module:
    def __init__(self, g, index, imports):
        self.g = g
        self.r = g.r
        self.k = index
        self.p = "m%03d" % index           # name prefix
        self.imports = imports             # list of Module (earlier ones)
        self.out = []
        self.groups = []                   # (prefix, Digest record) per group
        self.kb = {}                       # relative path -> bytes

    def w(self, s=""):
        self.out.extend(s.split("\n"))

    def lines(self):
        return len(self.out)

    # Module-level declarations: header, imports, models, policies, contexts.
    def header(self):
        r, p = self.r, self.p
        self.w("// mod_%03d.flow - generated by bench/gen_program.py; do not edit." % self.k)
        self.w("// A synthetic module of the benchmark program: its names all start with %s_." % p)
        self.w()
        for m in self.imports:
            self.w('import "mod_%03d.flow"' % m.k)
        if self.imports:
            self.w()

        self.w("/* --- model bindings ------------------------------------------------ */")
        self.w()
        self.w("/// The cheap, fast default of this module.")
        self.w("model %s_fast {" % p)
        self.w("  provider: openai")
        self.w('  name: "gpt-4o-mini"')
        self.w("  temperature: %s" % r.choice(["0.0", "0.1", "0.2"]))
        self.w("  max_tokens: %d" % r.choice([400, 600, 800]))
        self.w("  limits { concurrency: %d, requests_per_minute: %d }"
               % (r.choice([8, 16, 32]), r.choice([300, 500, 1000])))
        self.w("  price  { input: 0.15 per 1M, output: 0.60 per 1M }")
        self.w("}")
        self.w()
        self.w("/// The careful, expensive model: judges and fallbacks.")
        self.w("model %s_smart {" % p)
        self.w("  provider: anthropic")
        self.w('  name: "claude-sonnet-4-5"')
        self.w('  api_key_env: "ANTHROPIC_API_KEY"')
        self.w("  max_tokens: 1024")
        self.w("  context_window: 200K")
        self.w("  limits {")
        self.w("    concurrency: 4")
        self.w("    requests_per_minute: 50")
        self.w("    tokens_per_minute: 400K")
        self.w("  }")
        self.w("  price { input: 3.0 per 1M, output: 15.0 per 1M }")
        self.w("}")
        self.w()
        self.w("/// A local model for cheap extraction work.")
        self.w("model %s_local {" % p)
        self.w("  provider: ollama, name: \"%s\"" % r.choice(PROVIDERS[2][1]))
        self.w('  base_url: "http://localhost:11434"')
        self.w("  max_tokens: 256, temperature: 0.0, seed: %d" % r.randint(1, 9999))
        self.w("  json_mode: false")
        self.w("}")
        self.w()
        self.w("model %s_vision {" % p)
        self.w('  provider: openai, name: "gpt-4o", vision: true, max_tokens: 300')
        self.w("}")
        self.w()
        self.w("/* --- policies ------------------------------------------------------ */")
        self.w()
        self.w("policy %s_careful {" % p)
        self.w("  retry: %d" % r.randint(2, 4))
        self.w("  backoff: exponential(%dms, factor: 2, max: %ds)" % (r.choice([100, 250, 500]), r.choice([4, 8, 16])))
        self.w("  timeout: %ds" % r.choice([20, 30, 60]))
        self.w("  fallback: [%s_smart]" % p)
        self.w("  cache: true")
        self.w("}")
        self.w()
        self.w("policy %s_quick { retry: 1, backoff: constant(%dms), timeout: %ds, cache: false }"
               % (p, r.choice([200, 500]), r.choice([5, 10])))
        self.w()
        self.w("/* --- context ------------------------------------------------------- */")
        self.w()
        self.w('context %s_rules: string = file("kb/%s_policy.md")' % (p, p))
        self.w('context %s_glossary: map<string, string> = json("kb/%s_glossary.json")' % (p, p))
        self.w('context %s_region: string = env("FLOW_REGION", default: "%s")' % (p, r.choice(REGIONS)))
        self.w('context %s_logo: image = image("kb/%s_logo.png")' % (p, p))
        self.w()
        self.kb["kb/%s_policy.md" % p] = self.policy_doc().encode()
        gloss = {w: self.g.phrase() for w in sorted(r.sample(WORDS, 6))}
        self.kb["kb/%s_glossary.json" % p] = (json.dumps(gloss, indent=2, sort_keys=True) + "\n").encode()
        self.kb["kb/%s_logo.png" % p] = png_1x1(r.randint(0, 255))

        self.channels = r.sample(CHANNELS, r.randint(3, 6))
        self.w("enum %s_Channel { %s }" % (p, ", ".join(self.channels)))
        self.w("enum %s_Tier {" % p)
        for v in TIERS:
            self.w("  %s" % v)
        self.w("}")
        self.w()
        self.w("/// What the module reports to main.")
        self.w("type %s_Report {" % p)
        self.w("  headline: string")
        self.w("  parts: string[]")
        self.w("  total: int")
        self.w("  logo: string")
        self.w("}")
        self.w()
        # A leaf flow that later modules call.
        self.w("/// Trim, drop blank entries and lower-case the input texts.")
        self.w("flow %s_normalize(texts: string[]) -> string[] {" % p)
        self.w("  for s in texts parallel %d {" % r.choice([16, 32, 64]))
        self.w("    let t = trim(s)")
        self.w("    check len(t) > 0 else skip")
        self.w("    yield lower(t)")
        self.w("  }")
        self.w("}")
        self.w()
        self.w("prompt %s_describe_logo(note: string) -> string {" % p)
        self.w("  model: %s_vision" % p)
        self.w('  system "Describe images in one short sentence."')
        self.w('  user "Describe this logo for the {{ %s_region }} team. {{ note }}"' % p)
        self.w("  user image %s_logo" % p)
        self.w("}")
        self.w()

    def policy_doc(self):
        lines = ["# Policy for module %s" % self.p, ""]
        for _ in range(8):
            lines.append("- " + self.g.phrase() + ".")
        return "\n".join(lines) + "\n"

    # One group: a domain noun with its types, bindings, prompts, evals, flows, tests.
    def group(self, gi):
        g, r = self.g, self.r
        noun = r.choice(NOUNS)
        Noun = noun[0].upper() + noun[1:]
        P = "%s_%s%d" % (self.p, noun, gi)          # value prefix
        T = "%s_%s%d" % (self.p, Noun, gi)          # type prefix

        # enums
        prio = EnumDecl(T + "Priority", list(r.choice(PRIORITY_LADDERS)))
        status = EnumDecl(T + "Status", list(r.choice(STATUS_SETS)))
        senti = EnumDecl(T + "Sentiment", SENTIMENTS[: r.randint(3, 4)])
        chan = EnumDecl(self.p + "_Channel", self.channels)
        tier = EnumDecl(self.p + "_Tier", TIERS)

        self.w("/* === %s: %ss ==================================================== */" % (P, noun))
        self.w()
        self.w("/// How soon %s needs attention." % a_an(noun))
        self.w("enum %s {" % prio.name)
        for v in prio.variants:
            self.w("  %s" % v)
        self.w("}")
        self.w()
        if r.random() < 0.5:
            self.w("enum %s { %s }" % (status.name, ", ".join(status.variants)))
        else:
            self.w("enum %s {" % status.name)
            self.w("  " + ",\n  ".join(status.variants))
            self.w("}")
        self.w()
        self.w("enum %s { %s }" % (senti.name, ", ".join(senti.variants)))
        self.w()

        # records
        party = RecDecl(T + "Party", [("name", S), ("email", ("opt", S)), ("tags", ("list", S))])
        if r.random() < 0.5:
            party.fields.append(("tier", ("enum", tier)))
        if r.random() < 0.5:
            party.fields.append(("account_id", S))
        line = RecDecl(T + "Line", [("sku", S), ("qty", I), ("unit_price", F), ("note", ("opt", S))])
        step = RecDecl(T + "Step", [("action", S), ("owner", ("opt", S)), ("due_in_days", ("opt", I))])

        item_pool = [
            ("channel", ("enum", chan)),
            ("region", S), ("amount", F), ("quantity", I), ("tags", ("list", S)),
            ("notes", ("opt", S)), ("reference", ("opt", S)), ("attrs", ("map", S)),
            ("metrics", ("map", F)), ("lines", ("list", ("rec", line))), ("rating", ("opt", I)),
            ("history", ("list", S)), ("flagged", B), ("due_in_days", I), ("attachments", I),
            ("locale", S), ("weight", ("opt", F)), ("counts", ("list", I)),
            ("aliases", ("opt", ("list", S))),
        ]
        if self.imports:
            up = r.choice(self.imports)
            ug = r.choice(up.groups)
            item_pool.append(("upstream", ("opt", ("rec", ug[2]))))
        extras = r.sample(item_pool, r.randint(0, 7))
        item = RecDecl(T, [("id", S), ("title", S), ("body", S), ("party", ("rec", party)),
                           ("status", ("enum", status))] + extras)

        tri_pool = [
            ("labels", ("list", S)), ("followup", ("opt", S)), ("language", S),
            ("sentiment", ("enum", senti)), ("entities", ("map", S)),
            ("steps", ("list", ("rec", step))), ("estimate_hours", ("opt", I)), ("risk", F),
            ("keywords", ("list", S)), ("escalate_to", ("opt", S)),
        ]
        triage = RecDecl(T + "Triage", [("priority", ("enum", prio)), ("category", S),
                                        ("summary", S), ("needs_human", B), ("confidence", F)]
                         + r.sample(tri_pool, r.randint(0, 7)))
        result = RecDecl(T + "Result", [("id", S), ("title", S), ("triage", ("rec", triage)),
                                        ("reply", ("opt", S)), ("route", S),
                                        ("keywords", ("list", S)), ("note", ("opt", S))])
        digest = RecDecl(T + "Digest", [("total", I), ("flagged", ("list", S)), ("headline", S),
                                        ("top", ("opt", ("enum", prio)))])

        def emit_rec(rec, doc, describe=None):
            describe = describe or {}
            self.w("/// " + doc)
            if len(rec.fields) <= 3 and r.random() < 0.5:
                self.w("type %s { %s }" % (rec.name, ", ".join("%s: %s" % (n, tname(t)) for n, t in rec.fields)))
            else:
                self.w("type %s {" % rec.name)
                for n, t in rec.fields:
                    if r.random() < 0.15:
                        self.w("  /// " + g.phrase() + ".")
                    ann = ' @describe("%s")' % describe[n] if n in describe else ""
                    self.w("  %s: %s%s" % (n, tname(t), ann))
                self.w("}")
            self.w()

        emit_rec(party, "Who sent the %s." % noun)
        emit_rec(line, "One line of %s." % a_an(noun))
        emit_rec(step, "A next step proposed by the model.")
        emit_rec(item, (a_an(noun) + " as it arrives.").capitalize())
        emit_rec(triage, "A classified %s." % noun,
                 {"category": " | ".join(r.sample(CATEGORIES, 4)),
                  "summary": "one sentence, no personal data",
                  "confidence": "0 to 1"})
        emit_rec(result, "What the pipeline produces for one %s." % noun)
        emit_rec(digest, "Totals over a batch of %ss." % noun)

        # a group-specific binding and policy
        prov, names = r.choice(PROVIDERS[:2])
        self.w("/// The binding the %s classifier runs on." % noun)
        self.w("model %s_model {" % P)
        self.w("  provider: %s" % prov)
        self.w('  name: "%s"' % r.choice(names))
        self.w("  temperature: %s" % r.choice(["0.0", "0.2", "0.3", "0.7"]))
        if r.random() < 0.5:
            self.w("  top_p: %s" % r.choice(["0.9", "0.95", "1.0"]))
        self.w("  max_tokens: %d" % r.choice([300, 500, 700, 1000, 2000]))
        if r.random() < 0.4:
            self.w('  stop: ["\\n\\n###", "END"]')
        if r.random() < 0.5:
            self.w("  context_window: %s" % r.choice(["128K", "200K", "32000"]))
        self.w("  limits { concurrency: %d, requests_per_minute: %d, tokens_per_minute: %s }"
               % (r.choice([2, 4, 8, 16]), r.choice([60, 120, 600]), r.choice(["100K", "1M", "2M"])))
        self.w("  price {")
        self.w("    input: %s per 1M" % r.choice(["0.15", "0.40", "1.10", "2.5", "3.0"]))
        self.w("    output: %s per 1M" % r.choice(["0.60", "1.60", "4.40", "10.0", "15.0"]))
        self.w("  }")
        self.w("}")
        self.w()
        self.w("policy %s_policy {" % P)
        self.w("  retry: %d, timeout: %ds" % (r.randint(0, 3), r.choice([15, 30, 45])))
        if r.random() < 0.5:
            self.w("  backoff: exponential(%dms, factor: %s, max: %ds)"
                   % (r.choice([100, 200, 250]), r.choice(["2", "1.5", "3"]), r.choice([5, 8, 30])))
        else:
            self.w("  backoff: constant(%dms)" % r.choice([250, 500, 1000]))
        self.w("  fallback: [%s_fast, %s_smart]" % (self.p, self.p))
        self.w("}")
        self.w()

        # prompts
        self.w("prompt %s_classify(" % P)
        self.w("  /// the %s to triage" % noun)
        self.w("  it: %s" % T)
        self.w(") -> %s {" % triage.name)
        self.w("  model: %s_model" % P)
        self.w("  policy: %s_policy" % P)
        self.w('  system """')
        self.w("    You triage %ss for the {{ %s_region }} team. Follow this policy:" % (noun, self.p))
        self.w("    {{ %s_rules }}" % self.p)
        self.w()
        for ins in r.sample(INSTRUCTIONS, r.randint(2, 5)):
            self.w("    - " + ins.format(noun=noun))
        self.w("    Known terms: {{ join(keys(%s_glossary), \", \") }}." % self.p)
        self.w('  """')
        self.w('  user """')
        self.w("    %s {{ it.id }}: {{ it.title }}" % Noun)
        self.w("    From: {{ it.party.name }} <{{ it.party.email ?? \"no email\" }}>")
        self.w("    Status: {{ it.status }}")
        for n, t in extras:
            self.w("    %s: {{ %s }}" % (n.replace("_", " ").capitalize(), g.show("it." + n, t)))
        self.w()
        self.w("      {{ it.body }}")
        self.w('  """')
        self.w("}")
        self.w()

        self.w("prompt %s_draft(it: %s, tr: %s) -> string {" % (P, T, triage.name))
        self.w("  model: %s_fast" % self.p)
        self.w("  policy: %s_careful" % self.p)
        self.w("  temperature: %s" % r.choice(["0.3", "0.5", "0.7"]))
        self.w("  max_tokens: %d" % r.choice([200, 300, 400]))
        self.w('  system "You write short, polite replies about %ss. Sign as the {{ %s_region }} team."'
               % (noun, self.p))
        if r.random() < 0.5:
            self.w('  user "Reply to: my %s is late and I am upset."' % noun)
            self.w('  assistant "I am sorry about the delay. Here is what we will do next."')
        self.w('  user """')
        self.w("    Write a reply to {{ it.party.name }} about their %s: {{ it.title }}." % noun)
        self.w("    Category: {{ tr.category }} (priority {{ tr.priority }}, confidence {{ format(tr.confidence, 2) }})")
        self.w("    Summary: {{ tr.summary }}")
        for n, t in triage.fields[5:]:
            if r.random() < 0.5:
                self.w("    %s: {{ %s }}" % (n.replace("_", " ").capitalize(), g.show("tr." + n, t)))
        self.w()
        self.w("    Original text:")
        self.w("      {{ it.body }}")
        self.w('  """')
        self.w("}")
        self.w()

        self.w("prompt %s_keywords(it: %s) -> string[] {" % (P, T))
        self.w("  model: %s_local, policy: %s_quick" % (self.p, self.p))
        self.w('  user "List up to %d keywords of this %s, lower case: {{ it.title }}. {{ it.body }}"'
               % (r.choice([5, 8, 10]), noun))
        self.w("}")
        self.w()

        # evals
        self.w("eval %s_triage_ok(tr: %s) {" % (P, triage.name))
        self.w('  assert tr.summary != "" "the summary is empty"')
        self.w('  assert tr.confidence in 0.0..1.0 "confidence must be between 0 and 1"')
        self.w('  assert len(tr.category) <= %d "the category is too long"' % r.choice([20, 30, 40]))
        if any(n == "labels" for n, _ in triage.fields):
            self.w('  assert len(tr.labels) <= 8 "at most eight labels"')
        self.w("  score confidence = tr.confidence")
        self.w("}")
        self.w()
        self.w("eval %s_reply_ok(r: string, it: %s) {" % (P, T))
        self.w('  let words = len(split(r, " "))')
        self.w('  assert len(r) in %d..%d "reply length"' % (r.choice([20, 40]), r.choice([800, 1200, 2000])))
        self.w('  assert not matches(r, "(?i)as an ai") "no AI disclaimers"')
        self.w('  assert not contains(r, it.id) or len(it.id) < 3 "do not quote internal ids"')
        self.w('  score polite = judge(%s_smart, "Is this reply to %s polite and on topic? {{ r }}")'
               % (self.p, a_an(noun)))
        self.w("  score brevity = 1.0 - float(words) / 400.0")
        self.w('  assert polite >= %s "politeness"' % r.choice(["0.6", "0.7", "0.8"]))
        self.w("}")
        self.w()
        self.w("eval %s_keywords_ok(ks: string[]) {" % P)
        self.w('  assert len(ks) <= 10 "at most ten keywords"')
        self.w('  assert len(unique(ks)) == len(ks) "no repeated keywords"')
        self.w("  score count = len(ks)")
        self.w("}")
        self.w()

        # flows
        pv = prio.variants
        self.w("/// Triage every %s and draft replies for the simple ones." % noun)
        self.w("flow %s_process(" % P)
        self.w("  /// the %ss, in input order" % noun)
        self.w("  items: %s[]" % T)
        self.w(") -> %s[] {" % result.name)
        self.w("  for it in items parallel %d {" % r.choice([4, 8, 16, 32]))
        self.w("    check len(it.body) > 0 else skip")
        self.w("    let tr = %s_classify(it) ensure %s_triage_ok else retry %d" % (P, P, r.randint(1, 3)))
        self.w('    check tr.summary != "" else retry')
        self.w("    check tr.confidence >= 0.%d else fallback %s_smart" % (r.randint(1, 4), self.p))
        self.w("    let kws = %s_keywords(it) ensure %s_keywords_ok else warn" % (P, P))
        self.w("    let reply = if tr.needs_human { none }")
        self.w("                else { %s_draft(it, tr) ensure %s_reply_ok(it) else retry 2 }" % (P, P))
        self.w('    let route = match tr.priority { %s => "queue", %s => "triage", _ => "page" }' % (pv[0], pv[1]))

        def res(indent, note=None):
            given = {"id": "it.id", "title": "it.title", "triage": "tr", "reply": "reply",
                     "route": "route", "keywords": "kws"}
            if note:
                given["note"] = note
            parts = ["%s: %s" % (n, given[n]) for n, _ in result.fields if n in given]
            return ("%syield %s {\n" % (indent, result.name)
                    + ",\n".join(indent + "  " + x for x in parts) + "\n" + indent + "}")

        self.w("    match tr.priority {")
        self.w("      %s => {" % pv[0])
        self.w(res("        "))
        self.w("      }")
        if r.random() < 0.5:
            self.w("      %s => {" % ", ".join(pv[1:-1]))
            self.w('        check tr.category != "" else warn')
            self.w(res("        "))
            self.w("      }")
            self.w("      %s.%s => {" % (prio.name, pv[-1]))
        else:
            self.w("      %s => {" % pv[1])
            self.w('        check tr.category != "" else warn')
            self.w(res("        "))
            self.w("      }")
            self.w("      _ => {")
        self.w('        let note = "escalated by {{ it.party.name }}: {{ tr.summary }}"')
        self.w(res("        ", "note"))
        self.w("      }")
        self.w("    }")
        self.w("  }")
        self.w("}")
        self.w()

        self.w("/// Count what a batch of %ss produced." % noun)
        self.w("flow %s_digest(results: %s[]) -> %s {" % (P, result.name, digest.name))
        self.w("  let flagged = for x in filter(results, y => y.triage.needs_human) {")
        self.w("    yield x.id")
        self.w("  }")
        self.w("  let total = len(results)")
        self.w("  let mean = if total > 0 { sum(map(results, y => y.triage.confidence)) / float(total) }")
        self.w("             else { 0.0 }")
        self.w("  if len(flagged) > 0 {")
        self.w("    yield %s {" % digest.name)
        self.w("      total: total,")
        self.w("      flagged: flagged,")
        self.w('      headline: "{{ len(flagged) }} of {{ total }} %ss need a human (mean confidence {{ format(mean, 2) }})",' % noun)
        self.w("      top: results[0].triage.priority")
        self.w("    }")
        self.w("  } else {")
        self.w('    yield %s { total: total, flagged: [], headline: "all {{ total }} %ss handled" }' % (digest.name, noun))
        self.w("  }")
        self.w("}")
        self.w()

        self.w("/// Build %ss from raw texts, process them and summarise." % noun)
        self.w("flow %s_run(texts: string[]) -> %s {" % (P, digest.name))
        self.w("  let items = for s in take(texts, %d) {" % r.choice([50, 100, 500]))
        given = {"id": '"%s-{{ len(s) }}"' % noun, "title": "trim(s)", "body": "s"}
        self.w("    yield " + g.rec_lit(item, 1, given, "    "))
        self.w("  }")
        self.w("  let results = %s_process(items)" % P)
        self.w("  yield %s_digest(results)" % P)
        self.w("}")
        self.w()

        # tests
        it_lit = g.rec_lit(item, 1, {"body": '"%s"' % g.phrase()}, "    ")
        tr_urgent = g.rec_lit(triage, 1, {"priority": pv[-1], "needs_human": "true",
                                          "confidence": "0.9"}, "  ")
        self.w('test "%s: %ss that need a human get no draft" {' % (P, noun))
        self.w("  mock %s_classify = %s" % (P, tr_urgent))
        self.w('  mock %s_keywords = ["%s", "%s"]' % (P, r.choice(WORDS), r.choice(WORDS)))
        self.w("  let out = %s_process([" % P)
        self.w("    " + it_lit)
        self.w("  ])")
        self.w('  assert len(out) == 1 "one result per %s"' % noun)
        self.w('  assert out[0].reply == none "no draft when a human is needed"')
        self.w('  assert out[0].route == "page"')
        self.w("}")
        self.w()
        if r.random() < 0.7:
            tr_a = g.rec_lit(triage, 1, {"priority": pv[0], "needs_human": "false",
                                         "summary": '"%s"' % g.phrase(), "confidence": "0.8"}, "    ")
            tr_b = g.rec_lit(triage, 1, {"priority": pv[0], "needs_human": "false",
                                         "summary": '"%s"' % g.phrase(), "confidence": "0.7"}, "    ")
            self.w('test "%s: simple %ss are drafted and counted" {' % (P, noun))
            self.w("  mock %s_classify = [" % P)
            self.w("    " + tr_a + ",")
            self.w("    " + tr_b)
            self.w("  ]")
            self.w('  mock %s_draft = "Thank you for your message. We have looked into your %s and fixed it."'
                   % (P, noun))
            self.w('  mock %s_keywords = ["%s"]' % (P, r.choice(WORDS)))
            self.w('  let d = %s_run(["%s", "%s"])' % (P, g.words(2, 6), g.words(2, 6)))
            self.w('  assert d.total == 2 "both %ss processed"' % noun)
            self.w('  assert len(d.flagged) == 0 "nothing flagged"')
            self.w("}")
            self.w()

        self.groups.append((P, digest, triage))

    def entry(self):
        p, r = self.p, self.r
        self.w("/* --- entry point ------------------------------------------------------ */")
        self.w()
        self.w("/// Run every part of this module over the same texts.")
        self.w("flow %s_entry(texts: string[]) -> %s_Report {" % (p, p))
        self.w("  let clean = %s_normalize(texts)" % p)
        ups = []
        for i, m in enumerate(self.imports):
            self.w("  let up%d = m%03d_normalize(texts)" % (i, m.k))
            ups.append("up%d" % i)
        for i, (P, _, _) in enumerate(self.groups):
            self.w("  let d%d = %s_run(clean)" % (i, P))
        self.w("  let logo = %s_describe_logo(d0.headline)" % p)
        total = " + ".join("d%d.total" % i for i in range(len(self.groups)))
        self.w("  yield %s_Report {" % p)
        up_txt = "".join(", {{ len(%s) }} upstream" % u for u in ups)
        self.w('    headline: "%s: {{ %s }} items%s",' % (p, total, up_txt))
        self.w("    parts: [")
        self.w(",\n".join("      d%d.headline" % i for i in range(len(self.groups))))
        self.w("    ],")
        self.w("    total: %s," % total)
        self.w("    logo: logo")
        self.w("  }")
        self.w("}")
        self.w()
        self.w('test "%s: the entry reports one part per group" {' % p)
        self.w('  mock %s_describe_logo = "a blue square"' % p)
        self.w('  let rep = %s_entry(["  First %s  ", "", "second"])' % (p, r.choice(WORDS)))
        self.w('  assert len(rep.parts) == %d "one part per group"' % len(self.groups))
        self.w('  assert rep.logo == "a blue square"')
        self.w("}")


def png_1x1(grey):
    """A valid 1x1 greyscale PNG."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes([0, grey]), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def generate(lines, nmodules, seed):
    """Returns {relative path: bytes} for the whole program."""
    g = Gen(seed)
    files = {}
    per_module = max(150, (lines - 2 * nmodules - 20) // nmodules)
    mods = []
    done = 0  # lines written so far: each module aims at its running share
    for k in range(nmodules):
        earlier = mods[max(0, k - 12):k]
        imports = sorted(g.r.sample(earlier, min(len(earlier), g.r.randint(1, 2))), key=lambda m: m.k) \
            if earlier else []
        m = Module(g, k, imports)
        m.header()
        gi = 0
        # Add groups while that brings the module closer to its share of lines
        # (the entry flow and its test take ~30 more).
        while True:
            before = m.lines()
            m.group(gi)
            gi += 1
            size = m.lines() - before
            if done + m.lines() + 30 + size / 2 >= (k + 1) * per_module:
                break
        m.entry()
        done += m.lines()
        mods.append(m)
        files["mod_%03d.flow" % k] = ("\n".join(m.out) + "\n").encode()
        files.update(m.kb)

    out = ["// main.flow - generated by bench/gen_program.py (seed %d); do not edit." % seed,
           "// The root of a synthetic %d-module program used by bench/check_bench.py." % nmodules,
           ""]
    for k in range(nmodules):
        out.append('import "mod_%03d.flow"' % k)
    out.append("")
    out.append("/// Run every module over the same texts and collect their headlines.")
    out.append("flow main(")
    out.append("  /// the raw texts to process")
    out.append("  texts: string[]")
    out.append(") -> string[] {")
    for k in range(nmodules):
        out.append("  let r%03d = m%03d_entry(texts)" % (k, k))
    out.append("  yield [")
    out.append(",\n".join("    r%03d.headline" % k for k in range(nmodules)))
    out.append("  ]")
    out.append("}")
    out.append("")
    out.append('test "main collects one headline per module" {')
    for k in range(nmodules):
        out.append('  mock m%03d_describe_logo = "logo %d"' % (k, k))
    out.append('  let out = main(["hello", "world"])')
    out.append('  assert len(out) == %d "one headline per module"' % nmodules)
    out.append("}")
    files["main.flow"] = ("\n".join(out) + "\n").encode()
    return files


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=100_000, help="approximate total lines (default 100000)")
    ap.add_argument("--modules", type=int, default=0, help="module files (default lines/1000, at least 1)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--out", default=os.path.join(here, "out", "prog"), help="output directory")
    a = ap.parse_args()
    nmod = a.modules or max(1, min(1000, round(a.lines / 1000)))
    files = generate(a.lines, nmod, a.seed)
    os.makedirs(a.out, exist_ok=True)
    # Remove stale module files of an earlier, larger run.
    for name in os.listdir(a.out):
        if name.endswith(".flow") and name not in files:
            os.remove(os.path.join(a.out, name))
    nlines = 0
    nflow = 0
    for rel in sorted(files):
        path = os.path.join(a.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(files[rel])
        if rel.endswith(".flow"):
            nflow += 1
            nlines += files[rel].count(b"\n")
    with open(os.path.join(a.out, "gen.json"), "w") as f:
        json.dump({"lines": a.lines, "modules": nmod, "seed": a.seed,
                   "flow_files": nflow, "flow_lines": nlines}, f, sort_keys=True)
        f.write("\n")
    print("wrote %d .flow files, %d lines, to %s" % (nflow, nlines, a.out))


if __name__ == "__main__":
    sys.exit(main())
