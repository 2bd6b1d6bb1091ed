"""Precision, recall and F1 of a matches.csv (left_id,right_id,score,decision) against
truth.csv (left_id,right_id): only `link` rows count as answers.

Usage: identity_score.py TRUTH.csv MATCHES.csv   → prints "precision recall f1"
"""
import csv
import sys

truth = {row["left_id"]: row["right_id"] for row in csv.DictReader(open(sys.argv[1]))}
links = [(row["left_id"], row["right_id"]) for row in csv.DictReader(open(sys.argv[2])) if row["decision"] == "link"]
correct = sum(1 for left, right in links if truth.get(left) == right)
precision = correct / len(links) if links else 1.0
recall = correct / len(truth) if truth else 1.0
f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
print(f"{precision:.4f} {recall:.4f} {f1:.4f}")
