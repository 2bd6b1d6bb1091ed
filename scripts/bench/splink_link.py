"""Links two CSV files of people with Splink (DuckDB), the baseline of `make bench-identity`.

Usage: splink_link.py LEFT.csv RIGHT.csv OUT.csv

Cleans the fields the way a careful analyst would before Splink (names to Pinyin with
sorted words, e-mails trimmed and lower-cased, phones to digits without the country code,
company names without legal forms, cities and brackets), trains the model on the data
(u by random sampling, m by expectation maximisation) and writes left_id,right_id,score,
decision with at most one `link` per left id (match probability >= 0.9) and `review`
for 0.5-0.9.
"""
import logging
import re
import sys

import pandas as pd
from pypinyin import lazy_pinyin
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

LEGAL = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团|co\.?,? ?ltd\.?|inc\.?|llc|ltd\.?|corp\.?)$")
CITY = re.compile(r"^(北京|上海|深圳|杭州|广州)")


def name(text):
    if not isinstance(text, str) or not text.strip():
        return None
    if re.search(r"[\u4e00-\u9fff]", text):
        syllables = lazy_pinyin(text.replace(" ", ""))
        words = [syllables[0], "".join(syllables[1:])] if len(syllables) > 1 else syllables
    else:
        words = re.split(r"[^a-z]+", text.lower())
    return " ".join(sorted(w for w in words if w)) or None


def email(text):
    return text.strip().lower() or None if isinstance(text, str) else None


def phone(text):
    if not isinstance(text, str):
        return None
    digits = re.sub(r"\D", "", text)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
    return digits or None


def company(text):
    if not isinstance(text, str):
        return None
    text = re.sub(r"[（(].*?[）)]", "", text.strip().lower())
    text = CITY.sub("", LEGAL.sub("", text).strip(" ,.")).strip()
    return text or None


def load(path):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "id": frame["id"],
        "name": frame["name"].map(name),
        "email": frame["email"].map(email),
        "phone": frame["phone"].map(phone),
        "company": frame["company"].map(company),
    })


def main():
    left_path, right_path, out_path = sys.argv[1:4]
    db = DuckDBAPI()
    left = db.register(load(left_path), dataset_display_name="side_a")
    right = db.register(load(right_path), dataset_display_name="side_b")
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("name"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("company", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"), block_on("phone"), block_on("name", "company"), block_on("name"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([left, right], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    pairs = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    left_col, right_col = ("id_l", "id_r")
    if (pairs["source_dataset_l"] == "side_b").any():  # keep left ids on the left
        swap = pairs["source_dataset_l"] == "side_b"
        pairs.loc[swap, [left_col, right_col]] = pairs.loc[swap, [right_col, left_col]].values
    pairs = pairs.sort_values(["match_probability", right_col], ascending=[False, True])
    linked = set()
    with open(out_path, "w") as out:
        out.write("left_id,right_id,score,decision\n")
        for row in pairs.itertuples():
            left_id, right_id, p = getattr(row, left_col), getattr(row, right_col), row.match_probability
            decision = "review"
            if p >= 0.9 and left_id not in linked:
                linked.add(left_id)
                decision = "link"
            out.write(f"{left_id},{right_id},{p:.4f},{decision}\n")


if __name__ == "__main__":
    main()
