# -*- coding: utf-8 -*-
"""Runs the official VQA evaluator (GT-Vision-Lab/VQA vqaEval.py) on cases read from stdin.

Used by make-vqa-eval-fixtures.py; runs under Python 3 and Python 2.7 (the script's own
runtime). The official file is executed as published; under Python 3 its two `print "..."`
statements are rewritten as calls, nothing else. Only the reporting hook `setEvalQA` is
overridden, to keep the unrounded per-question accuracy (the script stores round(100*acc, 2)).

stdin:  {"source": "<path to vqaEval.py>", "cases": [{"prediction": s, "answers": [s, ...]}],
         "strings": [s, ...]}
stdout: {"accuracy": [float, ...], "processPunctuation": [...], "processDigitArticle": [...]}
"""
from __future__ import print_function

import io
import json
import re
import sys


def load_official(path):
    with io.open(path, "rb") as f:
        source = f.read()  # bytes: Python 2 refuses a coding line in a unicode source
    if sys.version_info[0] >= 3:
        source = source.decode("utf-8")
        source = re.sub(r'^(\s*)print (".*")\s*$', r"\1print(\2)", source, flags=re.M)
    namespace = {"__name__": "vqaEval"}
    # dont_inherit: this file's print_function must not leak into the Python 2 compile.
    exec(compile(source, path, "exec", 0, True), namespace)
    return namespace["VQAEval"]


class FakeVQA(object):
    """The two members of the official VQA API object that VQAEval reads."""

    def __init__(self, qa):
        self.qa = qa

    def getQuesIds(self):
        return sorted(self.qa.keys())


def main():
    request = json.loads(sys.stdin.read())
    VQAEval = load_official(request["source"])
    raw = {}

    class RawEval(VQAEval):
        def setEvalQA(self, quesId, acc):
            raw[quesId] = acc
            VQAEval.setEvalQA(self, quesId, acc)

    gts, res = {}, {}
    for i, case in enumerate(request["cases"]):
        # As in the VQA v2 annotation files: each answer a dict with its own answer_id, so the
        # official leave-one-out (`item != gtAnsDatum`) leaves out exactly one annotator.
        answers = [
            {"answer": a, "answer_id": j + 1, "answer_confidence": "yes"}
            for j, a in enumerate(case["answers"])
        ]
        gts[i] = {"answers": answers, "question_type": "none", "answer_type": "other"}
        res[i] = {"answer": case["prediction"]}
    evaluator = RawEval(FakeVQA(gts), FakeVQA(res))
    stdout = sys.stdout
    sys.stdout = sys.stderr  # the evaluator prints progress
    try:
        evaluator.evaluate(sorted(gts.keys()))
    finally:
        sys.stdout = stdout
    out = {
        "accuracy": [raw[i] for i in range(len(request["cases"]))],
        "processPunctuation": [evaluator.processPunctuation(s) for s in request["strings"]],
        "processDigitArticle": [evaluator.processDigitArticle(s) for s in request["strings"]],
    }
    text = json.dumps(out, ensure_ascii=True)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
