"""Golden values for vqaAccuracy / normalizeVqaAnswer from the official VQA evaluator itself.

The evaluator is GT-Vision-Lab/VQA `PythonEvaluationTools/vqaEvaluation/vqaEval.py`, run as
published (see vqa_eval_harness.py) at two revisions:
  a013f00 (2021-03-11, "Fixed processing answers bug"): the current one, what EvalAI and papers use;
  458a8b2 (2016): the revision Polymodal followed before, kept behind `revision: '2016'`.

Run from packages/losses with a clone of the official repository (not vendored here):
    git clone https://github.com/GT-Vision-Lab/VQA /tmp/VQA
    /usr/bin/python3 scripts/make-vqa-eval-fixtures.py --vqa-repo /tmp/VQA
Optional: --python2 /path/to/python2.7 also runs the evaluator under its own runtime and records
the cases where Python 2 and Python 3 disagree (non-ASCII digits, U+180E, simple lower-casing).
--cases N --out FILE writes a larger random set for a one-off comparison:
    /usr/bin/python3 scripts/make-vqa-eval-fixtures.py --vqa-repo /tmp/VQA --cases 100000 \
        --out /tmp/vqa-eval-big.json
    VQA_EVAL_FIXTURE=/tmp/vqa-eval-big.json pnpm exec vitest run src/metrics/vqa-official.test.ts
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OFFICIAL_PATH = "PythonEvaluationTools/vqaEvaluation/vqaEval.py"
REVISIONS = {
    "2021": "a013f0043c1e2cdc995922dfe257f7149aa9af06",
    "2016": "458a8b268b1a239dc388e0af4423f3fe7477b04f",
}

# ---- strings that exercise the script's own processing rules ----------------------------------
PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
NUMBER_WORDS = ["none", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
ARTICLES = ["a", "an", "the"]


def table_strings(official_source):
    """Every contraction key, number word, article and punctuation context of the script."""
    # The contraction keys are read from the official source so no entry is missed.
    start = official_source.index("self.contractions = {")
    end = official_source.index("}", start)
    body = official_source[start:end]
    keys = []
    for part in body.split(","):
        if ":" in part:
            key = part.split(":")[0].strip().strip("\\").strip()
            key = key.split("{")[-1].strip()
            if len(key) >= 2 and key[0] == '"' and key[-1] == '"':
                keys.append(key[1:-1])
    assert len(keys) > 100, keys
    out = []
    for k in keys:
        out += [k, k.upper(), "its " + k, k + " it"]
    for w in NUMBER_WORDS + ARTICLES:
        out += [w, w.capitalize(), w + " dog", "dog " + w, w + "s"]
    for p in PUNCT:
        out += ["a%sb" % p, "a %sb" % p, "a%s b" % p, "a %s b" % p, "%sa" % p, "a%s" % p, "1,000%sx" % p, "x%s1,0" % p]
    out += [
        "dog.", "3.5", "3.", ".5", "mr. smith", "a.b", "1.000", "...", "yes.no", "10:30", "don't", "1,000",
        "1,000,000", "1, 000", "a,b", "," * 3, "." * 40 + "x", ("a." * 40), "  spaced   out  ",
        "Two Dogs!", "THE CAT", "an apple.", "none of the above", "t-shirt", "yes/no", "left/right",
    ]
    return out


# ---- random (prediction, answers) questions ----------------------------------------------------
CONCEPTS = [
    ["yes", "Yes", "yes!", "yes.", "yeah", "YES", " yes", "yes "],
    ["no", "No", "no.", "nope", "no!"],
    ["2", "two", "Two", "2.", "two.", "TWO"],
    ["3", "three", "3.0", "three!"],
    ["0", "none", "zero", "0.", "None"],
    ["10", "ten", "Ten", "10.0"],
    ["11", "eleven"],
    ["1000", "1,000", "1 000", "1.000", "one thousand"],
    ["3.5", "3.50", "3 .5", "3,5"],
    ["red", "Red", "red.", "the red", "a red", "red!", "RED"],
    ["red car", "red  car", "red-car", "red/car", "the red car", "red car."],
    ["t-shirt", "t shirt", "tshirt", "T-Shirt", "t - shirt"],
    ["dog", "a dog", "the dog", "Dog", "dog.", "dogs", "an dog"],
    ["don't know", "dont know", "don't  know", "Dont Know"],
    ["isn't", "isnt", "is not"],
    ["he's", "hes", "Hes"],
    ["i'm", "Im", "im", "I'm"],
    ["10:30", "10 30", "10:30.", "1030"],
    ["yes/no", "yes no", "yes / no", "yes/ no"],
    ["left", "on left", "on the left", "left side", "left."],
    ["mr. smith", "mr smith", "Mr. Smith", "mr.smith"],
    ["black and white", "black & white", "black, white", "black/white", "black and white."],
    ["café", "Café", "cafe"],
    ["ας", "ΑΣ", "Ας"],
    ["٣,٤", "٣٤", "3,4"],
    ["straße", "STRASSE"],
    ["", " ", "\n", "."],
]
WHITESPACE = [" ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1f", "\x85", "\xa0",
              "\u1680", "\u2003", "\u2028", "\u202f", "\u3000", "\ufeff", "\u200b", "\u180e", "\r\n"]
NOISE = PUNCT + [".", ":", "'", "&", "#", "*", "%", "$"]


def perturb(rng, s):
    r = rng.random()
    if r < 0.35:
        return s
    if r < 0.5:
        return rng.choice(WHITESPACE) + s
    if r < 0.65:
        return s + rng.choice(WHITESPACE)
    if r < 0.75 and s:
        i = rng.randrange(len(s) + 1)
        return s[:i] + rng.choice(NOISE) + s[i:]
    if r < 0.82 and s:
        i = rng.randrange(len(s) + 1)
        return s[:i] + rng.choice(WHITESPACE) + s[i:]
    if r < 0.9:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in s)
    if r < 0.95:
        return rng.choice(["a ", "the ", "an ", "The "]) + s
    return s + rng.choice(["?", "!", ".", " .", " ?", "...", ",", " ,"])


def random_question(rng):
    concept = rng.choice(CONCEPTS)
    others = rng.choice(CONCEPTS)
    n = rng.choice([10] * 12 + [1, 2, 3, 5])
    mode = rng.random()
    if mode < 0.2:  # all annotators give one string (maybe with stray whitespace)
        a = perturb(rng, rng.choice(concept))
        answers = [a] * n
        if rng.random() < 0.5:
            answers = [rng.choice(["", " ", "\n", "\t"]) + a + rng.choice(["", " ", "\t"]) for _ in range(n)]
    else:
        pool = [perturb(rng, rng.choice(concept)) for _ in range(rng.randint(1, 4))]
        pool += [perturb(rng, rng.choice(others)) for _ in range(rng.randint(0, 2))]
        answers = [rng.choice(pool) for _ in range(n)]
    source = concept if rng.random() < 0.8 else rng.choice(CONCEPTS)
    prediction = perturb(rng, rng.choice(source))
    return {"prediction": prediction, "answers": answers}


def issue_questions():
    """The cases named in the Polymodal issue (#17), plus the README example."""
    return [
        {"prediction": "two", "answers": ["two"] * 10},
        {"prediction": "2", "answers": ["two"] * 4 + ["2"] * 3 + ["3"] * 3},
        {"prediction": "yes", "answers": [" yes"] * 4 + ["no"] * 6},
        {"prediction": "red car", "answers": ["red\x1ccar"] * 4 + ["blue"] * 6},
        {"prediction": "red car", "answers": ["red\ufeffcar"] * 4 + ["blue"] * 6},
        {"prediction": "red\ufeffcar", "answers": ["red\ufeffcar"] * 4 + ["blue"] * 6},
        {"prediction": "\ufeffyes", "answers": ["yes"] * 10},
        {"prediction": "yes\x1c", "answers": ["yes"] * 10},
        {"prediction": "Two", "answers": ["2"] * 3 + ["3"] * 7},
        {"prediction": "Two", "answers": ["two"] * 10},
    ]


# ---- running the official script ----------------------------------------------------------------
def official_source(repo, commit):
    return subprocess.check_output(["git", "-C", repo, "show", "%s:%s" % (commit, OFFICIAL_PATH)])


def run_official(python, source_path, cases, strings):
    request = json.dumps({"source": source_path, "cases": cases, "strings": strings})
    proc = subprocess.run(
        [python, os.path.join(HERE, "vqa_eval_harness.py")],
        input=request.encode("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return json.loads(proc.stdout.decode("utf-8"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vqa-repo", required=True, help="a git clone of GT-Vision-Lab/VQA")
    ap.add_argument("--python2", help="a Python 2.7 interpreter, to record where Python 2 differs")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "vqa-eval.json"))
    args = ap.parse_args()

    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp()
    sources, digests = {}, {}
    for rev, commit in REVISIONS.items():
        blob = official_source(args.vqa_repo, commit)
        digests[rev] = hashlib.sha256(blob).hexdigest()
        sources[rev] = os.path.join(tmp, "vqaEval-%s.py" % rev)
        with open(sources[rev], "wb") as f:
            f.write(blob)
    official_text = open(sources["2021"], encoding="utf-8").read()

    strings = table_strings(official_text)
    cases = issue_questions() + [random_question(rng) for _ in range(args.cases)]
    seen = set(strings)
    table = len(seen)
    for c in cases:  # every random string is a processing case too
        for s in [c["prediction"]] + c["answers"]:
            if s not in seen and len(seen) < table + 600:
                seen.add(s)
                strings.append(s)

    py3 = {rev: run_official(sys.executable, path, cases, strings) for rev, path in sources.items()}
    assert py3["2021"]["processPunctuation"] == py3["2016"]["processPunctuation"]
    assert py3["2021"]["processDigitArticle"] == py3["2016"]["processDigitArticle"]

    python2_differs = None
    if args.python2:
        python2_differs = {}
        for rev, path in sources.items():
            py2 = run_official(args.python2, path, cases, strings)
            python2_differs[rev] = [
                i for i, (a, b) in enumerate(zip(py2["accuracy"], py3[rev]["accuracy"])) if a != b
            ]

    fixture = {
        "source": "GT-Vision-Lab/VQA " + OFFICIAL_PATH,
        "revisions": {rev: {"commit": REVISIONS[rev], "sha256": digests[rev]} for rev in REVISIONS},
        "python": sys.version.split()[0],
        "generator": "scripts/make-vqa-eval-fixtures.py --seed %d --cases %d" % (args.seed, args.cases),
        "strings": [
            {"input": s, "processPunctuation": p, "processDigitArticle": d}
            for s, p, d in zip(
                strings, py3["2021"]["processPunctuation"], py3["2021"]["processDigitArticle"]
            )
        ],
        "cases": [
            dict(c, accuracy2021=a, accuracy2016=b)
            for c, a, b in zip(cases, py3["2021"]["accuracy"], py3["2016"]["accuracy"])
        ],
    }
    if python2_differs is not None:
        fixture["python2Differs"] = python2_differs
    with open(args.out, "w", encoding="utf-8") as f:
        # One string / case per line: small diffs when the generator changes.
        f.write("{\n")
        for key, value in fixture.items():
            if isinstance(value, list):
                rows = ",\n".join("  " + json.dumps(v, ensure_ascii=True) for v in value)
                f.write(" %s: [\n%s\n ]" % (json.dumps(key), rows))
            else:
                f.write(" %s: %s" % (json.dumps(key), json.dumps(value, ensure_ascii=True)))
            f.write(",\n" if key != list(fixture)[-1] else "\n")
        f.write("}\n")
    print("wrote %s: %d cases, %d strings" % (args.out, len(cases), len(strings)))
    if python2_differs is not None:
        for rev, idx in python2_differs.items():
            print("python2 differs (%s) on %d cases, e.g. %r" % (rev, len(idx), [cases[i] for i in idx[:3]]))


if __name__ == "__main__":
    main()
