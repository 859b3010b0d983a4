"""The review question in the ranking: before the first inclusion, beside the inclusions after it,
and in the simulation (--question, --priors)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from screener.errors import ScreenerError
from screener.ranking import Ranker, RankerConfig
from screener.ranking.question import query_words, question_text, question_weight, review_question
from screener.ranking.simulate import parse_priors, prior_rows, priors, simulate

TOPIC = "hepatic resection neuroendocrine liver metastases survival cytoreduction".split()
NOISE = (
    "cardiology asthma dermatology pediatric vaccine trial cohort outcome hospital policy "
    "nursing education imaging genetics diet exercise"
).split()
QUESTION = "Survival after hepatic resection of neuroendocrine liver metastases"


def topic_texts(n: int = 400, relevant: int = 20, seed: int = 1) -> tuple[list[str], np.ndarray]:
    """Relevant records use the question's words; the others mostly do not."""
    rng = random.Random(seed)
    texts, labels = [], []
    for k in range(n):
        is_relevant = k % (n // relevant) == 7
        words = rng.choices(NOISE, k=30) + (
            rng.choices(TOPIC, k=8) if is_relevant else rng.choices(TOPIC, k=1)
        )
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(int(is_relevant))
    return texts, np.array(labels)


def test_query_words_keep_the_terms_and_drop_the_syntax():
    assert query_words('("liver"[tiab] OR hepat*) AND resect* NOT animals[mh]') == "liver hepat resect"
    assert (
        query_words('(carcinoid[MeSH Terms] OR "liver metastases"[tiab]) NOT (review[pt] OR letter[pt])')
        == "carcinoid liver metastases"
    )
    assert query_words("exp Hypertension/ AND (ace adj3 inhibit*).ti,ab.") == "Hypertension ace inhibit"
    assert query_words("") == ""


def test_question_text_joins_what_the_review_states():
    text = question_text("Q?", "Title", "Adults only", ["liver[tiab] AND resect*"])
    assert text.splitlines() == ["Q?", "Title", "Adults only", "liver resect"]
    assert question_text() == ""


def test_question_weight_fades_as_inclusions_arrive():
    weights = [question_weight(k) for k in range(0, 40, 5)]
    assert weights[0] == 1.0
    assert all(a > b for a, b in zip(weights, weights[1:], strict=False))
    assert weights[-1] < 0.2


def test_review_question_reads_review_toml_and_the_search_queries(review):
    assert review_question(review) == ""  # no question stated: the ranking goes on as before
    text = review.config_path.read_text()
    review.config_path.write_text(
        text.replace('question = ""', f'question = "{QUESTION}"\ncriteria = "Adults; any design"', 1)
    )
    from screener.review import Review

    reread = Review(review.root)
    assert reread.config.question == QUESTION
    assert review_question(reread).splitlines()[0] == QUESTION
    assert "Adults; any design" in review_question(reread)


def test_a_question_ranks_before_any_decision():
    texts, labels = topic_texts()
    ranker = Ranker(texts, question=QUESTION)
    ranker.fit(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int))
    assert ranker.fitted
    top = ranker.next_order(np.arange(len(texts)))[:20]
    assert labels[top].mean() >= 0.8  # against 5 % at random
    # Without a question nothing ranks the records before a decision.
    plain = Ranker(texts)
    plain.fit(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int))
    assert not plain.fitted


def test_before_the_first_inclusion_the_question_alone_ranks():
    """Exclusions before the first inclusion do not train a model against the question (they
    are the records most like it): the records keep the question's own order."""
    texts, labels = topic_texts()
    excluded = np.flatnonzero(labels == 0)[:15]
    ranker = Ranker(texts, question=QUESTION)
    ranker.fit(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int))
    cold = ranker.scores.copy()
    ranker.fit(excluded, np.zeros(len(excluded), dtype=int))
    assert ranker.fitted and len(ranker.scores) == len(texts)
    np.testing.assert_array_equal(ranker.scores, cold)
    expected = sum(m.question_similarity() for m in ranker.models)
    np.testing.assert_allclose(ranker.scores, expected, rtol=1e-6)
    rest = np.setdiff1d(np.arange(len(texts)), excluded)
    assert labels[ranker.next_order(rest)[:20]].mean() >= 0.8
    # The first inclusion trains the models (with the question as one more relevant row).
    included = np.flatnonzero(labels == 1)[:1]
    ranker.fit(np.concatenate([excluded, included]), np.array([0] * 15 + [1]))
    assert all(m.fitted for m in ranker.models) and not np.allclose(ranker.scores, cold)


def test_the_question_is_one_more_relevant_row_in_training():
    """With a question the models train on the labelled rows and the question's row, weighted
    question_weight(inclusions) against a real inclusion; the scores cover the records only."""
    texts, labels = topic_texts()
    labelled = np.concatenate([np.flatnonzero(labels == 1)[:3], np.flatnonzero(labels == 0)[:20]])
    ranker = Ranker(texts, RankerConfig(interleave=False), question=QUESTION)
    model = ranker.models[0]
    seen = {}
    original = model.classifier.fit_compact

    def spy(compact, y, used, n_columns, scale=None):  # noqa: ANN001, ANN202
        seen.update(rows=compact.shape[0], y=y.copy(), scale=None if scale is None else scale.copy())
        return original(compact, y, used, n_columns, scale)

    model.classifier.fit_compact = spy
    ranker.fit(labelled, labels[labelled])
    assert seen["rows"] == len(labelled) + 1 and seen["y"][-1] == 1
    assert seen["scale"][-1] == pytest.approx(question_weight(3, RankerConfig().question_fade))
    assert (seen["scale"][:-1] == 1).all()
    assert ranker.scores.shape == (len(texts),)


def test_question_fade_zero_keeps_the_question_for_the_cold_start_only():
    texts, labels = topic_texts()
    ranker = Ranker(texts, RankerConfig(interleave=False, question_fade=0.0), question=QUESTION)
    ranker.fit(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=int))
    assert ranker.fitted  # the question ranks before any decision
    model = ranker.models[0]
    seen = {}
    original = model.classifier.fit_compact

    def spy(compact, y, used, n_columns, scale=None):  # noqa: ANN001, ANN202
        seen.update(rows=compact.shape[0], scale=scale)
        return original(compact, y, used, n_columns, scale)

    model.classifier.fit_compact = spy
    labelled = np.concatenate([np.flatnonzero(labels == 1)[:2], np.flatnonzero(labels == 0)[:10]])
    ranker.fit(labelled, labels[labelled])
    assert seen == {"rows": len(labelled), "scale": None}  # no question row once a record is included
    assert question_weight(0, 0.0) == 1.0 and question_weight(4, 0.0) == 0.0


def test_prior_rows_follow_the_specification():
    labels = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1])
    assert prior_rows(labels, 3) == priors(labels, 3)  # 1,1 exactly as before
    r = np.random.RandomState(4)
    relevant = r.choice(np.flatnonzero(labels == 1), 2, replace=False)
    irrelevant = r.choice(np.flatnonzero(labels == 0), 3, replace=False)
    assert prior_rows(labels, 4, (2, 3)) == (*relevant.tolist(), *irrelevant.tolist())
    assert prior_rows(labels, 4, (0, 0)) == ()
    with pytest.raises(ScreenerError, match="asks for 9 relevant"):
        prior_rows(labels, 0, (9, 1))


@pytest.mark.parametrize("text", ["1", "1,2,3", "a,b", "-1,1", "1.5,1", ""])
def test_parse_priors_refuses_what_is_not_two_counts(text):
    with pytest.raises(ScreenerError, match="--priors"):
        parse_priors(text, QUESTION)


def test_priors_zero_needs_a_question():
    assert parse_priors("0,0", QUESTION) == (0, 0)
    assert parse_priors(" 2, 5", "") == (2, 5)
    with pytest.raises(ScreenerError, match="question"):
        parse_priors("0,0", "  ")
    texts, labels = topic_texts()
    with pytest.raises(ScreenerError, match="question"):
        simulate(texts, labels, 0, n_priors=(0, 0))


def test_simulation_from_the_question_alone_covers_every_record():
    texts, labels = topic_texts()
    run = simulate(texts, labels, 0, question=QUESTION, n_priors=(0, 0))
    assert run.prior_rows == ()
    assert sorted(run.order) == list(range(len(texts)))
    assert len(run.screened_labels()) == len(texts)
    # The question finds the relevant records from the first record on.
    assert labels[run.order[:20]].mean() >= 0.8
    assert run.metrics()["wss@95"] > 0.5


def test_simulation_with_more_priors_puts_them_first():
    texts, labels = topic_texts()
    run = simulate(texts, labels, 2, question=QUESTION, n_priors=(2, 3))
    assert tuple(run.order[:5]) == run.prior_rows == prior_rows(labels, 2, (2, 3))
    assert len(run.screened_labels()) == len(texts) - 5


def test_without_a_question_the_simulation_is_unchanged():
    texts, labels = topic_texts()
    assert simulate(texts, labels, 1).order == simulate(texts, labels, 1, question="", n_priors=(1, 1)).order


# -- the command line ------------------------------------------------------------------------


def toy_dataset(tmp_path, n: int = 200, relevant: int = 10):  # noqa: ANN001, ANN201
    import csv

    texts, labels = topic_texts(n, relevant)
    dataset = tmp_path / "toy.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "title", "abstract", "label_included"])
        for k, (text, label) in enumerate(zip(texts, labels, strict=True)):
            writer.writerow([k, text[:40], text, label])
    return dataset, labels


def read_order(path):  # noqa: ANN001, ANN201
    import csv

    return [(int(r["row"]), int(r["prior"])) for r in csv.DictReader(path.open())]


def test_simulate_from_the_question_alone(cli, tmp_path):
    import json

    dataset, labels = toy_dataset(tmp_path)
    out = tmp_path / "orders"
    result = cli(
        "simulate",
        str(dataset),
        "--question",
        QUESTION,
        "--priors",
        "0,0",
        "--orders-out",
        str(out),
        "--json",
    )
    assert result.code == 0, result
    report = json.loads(result.out)
    assert report["priors"] == [0, 0] and report["question"] == QUESTION
    rows = read_order(out / "toy_seed0.csv")
    assert len(rows) == len(labels) and not any(prior for _, prior in rows)
    assert labels[[row for row, _ in rows[:10]]].mean() >= 0.6  # 5 % at random
    # The same question from a file gives the same order.
    question_file = tmp_path / "question.txt"
    question_file.write_text(QUESTION + "\n")
    again = cli(
        "simulate", str(dataset), "--question-file", str(question_file), "--priors", "0,0",
        "--orders-out", str(tmp_path / "again"), "--json",
    )  # fmt: skip
    assert again.code == 0, again
    assert read_order(tmp_path / "again" / "toy_seed0.csv") == rows


def test_simulate_more_priors_come_first_and_are_marked(cli, tmp_path):
    dataset, labels = toy_dataset(tmp_path)
    out = tmp_path / "orders"
    result = cli(
        "simulate", str(dataset), "--priors", "2,3", "--seeds", "4", "--orders-out", str(out), "--json"
    )
    assert result.code == 0, result
    rows = read_order(out / "toy_seed4.csv")
    assert [prior for _, prior in rows[:6]] == [1, 1, 1, 1, 1, 0]
    assert tuple(row for row, _ in rows[:5]) == prior_rows(labels, 4, (2, 3))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--priors", "0,0"], "no question was given"),
        (["--priors", "1"], "--priors"),
        (["--priors", "1,x"], "--priors"),
        (["--question", "a", "--question-file", "QFILE"], "not both"),
    ],
)
def test_simulate_refuses_bad_priors_and_questions_in_one_line(cli, tmp_path, args, message):
    dataset, _ = toy_dataset(tmp_path, 40, 4)
    question_file = tmp_path / "q.txt"
    question_file.write_text("liver")
    args = [str(question_file) if a == "QFILE" else a for a in args]
    result = cli("simulate", str(dataset), *args)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith("error:") and message in result.err and result.err.count("\n") <= 2, result


def test_rank_uses_the_review_question_by_default(cli, tmp_path):
    import csv
    import json

    texts, labels = topic_texts(60, 6)
    root = tmp_path / "review"
    assert cli("init", str(root), "--reviewer", "alice", "--reviewer", "bob").code == 0
    config = root / "review.toml"
    config.write_text(config.read_text().replace('question = ""', f'question = "{QUESTION}"', 1))
    export = tmp_path / "export.csv"
    with export.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "authors", "year"])
        for k, text in enumerate(texts):
            writer.writerow([f"Record {k}", text, f"Author{k} A", "2001"])
    query = '(hepatic[tiab] OR liver[tiab]) AND resection* NOT "case report"[pt]'
    imported = cli(
        "import",
        str(export),
        "--search",
        "s",
        "--database",
        "Embase",
        "--query",
        query,
        "--review",
        str(root),
    )
    assert imported.code == 0, imported
    result = cli("rank", "--reviewer", "alice", "--top", "6", "--json", "--review", str(root))
    assert result.code == 0, result
    report = json.loads(result.out)
    assert report["model"] is True and report["trained_on"] == 0 and report["question"].startswith(QUESTION)
    assert report["question"].splitlines()[-1] == "hepatic liver resection"  # the query's words
    top = [int(r["title"].split()[1]) for r in report["records"]]
    assert labels[top].mean() >= 0.8
    plain = json.loads(
        cli("rank", "--reviewer", "alice", "--no-question", "--json", "--review", str(root)).out
    )
    assert plain["model"] is False and plain["question"] == ""
