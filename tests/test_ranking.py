"""Ranking: metrics, priors, the simulation loop, the CLI."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from screener.ranking import Ranker, RankerConfig
from screener.ranking.embeddings import package_folder
from screener.ranking.metrics import atd, rrf, wss
from screener.ranking.simulate import priors, simulate

from .conftest import SHARED_DATA


def test_metrics_on_known_orders():
    perfect = np.array([1, 1, 1, 1] + [0] * 96)
    assert wss(perfect, 1.0) == pytest.approx(0.96)
    assert wss(perfect, 0.95) == pytest.approx(0.96 - 0.05)
    assert rrf(perfect, 10) == 1.0
    assert atd(perfect) == pytest.approx(np.mean([1, 2, 3, 4]) / 100)
    worst = perfect[::-1].copy()
    assert wss(worst, 1.0) == pytest.approx(0.0)
    assert rrf(worst, 10) == 0.0
    twenty = np.array(([1] + [0] * 4) * 20)  # 20 relevant, evenly spread over 100
    assert wss(twenty, 0.95) == pytest.approx((100 - 91) / 100 - 0.05)


def test_priors_follow_the_specification():
    labels = np.array([0, 1, 0, 0, 1, 0, 1, 0])
    r = np.random.RandomState(3)
    expected = (r.choice(np.flatnonzero(labels == 1)), r.choice(np.flatnonzero(labels == 0)))
    assert priors(labels, 3) == expected


def synthetic(n: int = 600, relevant: int = 30, seed: int = 1) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    topic = "hepatic resection neuroendocrine liver metastases survival cytoreduction".split()
    noise = (
        "cardiology asthma dermatology pediatric vaccine trial cohort outcome hospital policy "
        "nursing education imaging genetics diet exercise"
    ).split()
    texts, labels = [], []
    for k in range(n):
        is_relevant = k % (n // relevant) == 0
        words = rng.choices(noise, k=30) + (
            rng.choices(topic, k=8) if is_relevant else rng.choices(topic, k=1)
        )
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(int(is_relevant))
    return texts, np.array(labels)


def test_simulation_finds_relevant_records_early():
    texts, labels = synthetic()
    run = simulate(texts, labels, seed=0)
    assert run.order[:2] == list(priors(labels, 0))
    assert sorted(run.order) == list(range(len(labels)))  # every record exactly once
    metrics = run.metrics()
    assert metrics["wss@95"] > 0.6 and metrics["rrf@10"] > 0.6
    random_run = simulate(texts, labels, seed=0, config=RankerConfig(query="random"))
    assert random_run.metrics()["wss@95"] < metrics["wss@95"] - 0.3


@pytest.mark.parametrize("name", ["svm", "logistic"])
def test_a_fit_does_not_depend_on_numpys_global_generator(name):
    """liblinear orders its coordinates at random; seeded from numpy's global generator, two
    runs of one simulation could rank near-ties differently."""
    from scipy import sparse

    from screener.ranking import CLASSIFIERS

    rng = np.random.RandomState(0)
    X = sparse.random(200, 500, density=0.05, random_state=rng, format="csr")
    y = (rng.rand(200) < 0.3).astype(int)
    weights = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        classifier = CLASSIFIERS[name]()
        classifier.fit(X, y)
        weights.append(classifier.weights)
    np.testing.assert_array_equal(weights[0], weights[1])


def test_n_stop_and_swappable_parts():
    texts, labels = synthetic(300, 15)
    for config in (
        RankerConfig(classifier="logistic"),
        RankerConfig(classifier="nb"),
        RankerConfig(features="tfidf-words-chars"),
        RankerConfig(query="uncertainty"),
    ):
        run = simulate(texts, labels, seed=1, config=config, n_stop=40)
        assert len(run.step_seconds) <= 38 and sorted(run.order) == list(range(len(labels)))
    stopped = simulate(texts, labels, seed=1, config=RankerConfig(query="random"), n_stop=40)
    assert len(stopped.step_seconds) == 38


def test_ranker_needs_both_classes_before_ranking():
    texts, labels = synthetic(100, 5)
    ranker = Ranker(texts)
    ranker.fit(np.array([0]), np.array([labels[0]]))
    assert not ranker.fitted
    order = ranker.next_order(np.arange(1, 100))
    assert sorted(order.tolist()) == list(range(1, 100))


def test_simulate_cli(cli, tmp_path):
    texts, labels = synthetic(200, 10)
    dataset = tmp_path / "toy.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "title", "abstract", "label_included", "label_abstract_screening"])
        for k, (text, label) in enumerate(zip(texts, labels, strict=True)):
            writer.writerow([k, text[:40], text, label, label])
    out = tmp_path / "orders"
    plot = tmp_path / "recall.png"
    result = cli(
        "simulate", str(dataset), "--seeds", "0,1", "--orders-out", str(out), "--plot", str(plot), "--json"
    )
    assert result.code == 0, result
    report = json.loads(result.out)
    assert [r["seed"] for r in report["runs"]] == [0, 1]
    assert set(report["mean"]) == {"wss@95", "wss@100", "rrf@10", "atd", "loss"}
    assert all(0 <= r["loss"] <= 1 for r in report["runs"])
    rows = list(csv.DictReader((out / "toy_seed0.csv").open()))
    assert [int(r["prior"]) for r in rows[:3]] == [1, 1, 0] and len(rows) == 200
    assert int(rows[0]["label"]) == 1 and int(rows[1]["label"]) == 0
    assert plot.stat().st_size > 10_000
    assert cli("simulate", str(dataset), "--level", "ta", "--json").code == 0
    for features in ("tfidf-two-views", "tfidf"):
        answer = cli("simulate", str(dataset), "--features", features, "--index-terms", "ignore", "--json")
        assert answer.code == 0, answer
    if package_folder("wordllama") is not None:
        answer = cli("simulate", str(dataset), "--meaning", "turns", "--turns", "bandit", "--json")
        assert answer.code == 0, answer
    refused = cli("simulate", str(dataset), "--features", "tfidf-one-bag", "--index-terms", "separate")
    assert refused.code == 2 and "index_terms must be words or ignore" in refused.err
    assert "'separate' is for features = \"tfidf-two-views\"" in " ".join(refused.err.split())
    # --alone: the default model without its partner, as the library ranks it.
    from screener.ranking.datasets import load_labelled, texts_of

    records, loaded = load_labelled(dataset, "final")
    for flag, config in [("--alone", RankerConfig(interleave=False)), ("--interleave", RankerConfig())]:
        assert cli("simulate", str(dataset), flag, "--orders-out", str(out / flag), "--json").code == 0
        written = [int(r["row"]) for r in csv.DictReader((out / flag / "toy_seed0.csv").open())]
        assert written == simulate(texts_of(records), loaded, 0, config).order


def test_cli_feature_choices_are_the_ranking_features():
    from screener.cli import simulate as simulate_command
    from screener.ranking import FEATURES, RankerConfig

    option = next(p for p in simulate_command.params if p.name == "features")
    assert set(option.type.choices) == set(FEATURES) and option.default == RankerConfig.features
    from screener.ranking import MEANINGS, TURNS

    spelled = {p.name: set(p.type.choices) for p in simulate_command.params if p.name in ("meaning", "turns")}
    assert spelled == {"meaning": set(MEANINGS), "turns": set(TURNS)}


@pytest.mark.skipif(
    not (SHARED_DATA / "screening").is_dir(), reason="the shared screening datasets are absent"
)
def test_real_dataset_levels_and_labels(cli):
    from screener.ranking.datasets import load_labelled

    wilson = (
        SHARED_DATA / "screening/appenzeller_herzog_2020_wilson_disease/wilson_Appenzeller-Herzog_2020.csv"
    )
    records, final = load_labelled(wilson, "final")
    _, ta = load_labelled(wilson, "ta")
    assert len(records) == 2333 and final.sum() == 23 and ta.sum() == 155
    virus = SHARED_DATA / "screening/kwok_2020_virus_metagenomics/virus_Kwok_2020.csv"
    result = cli("simulate", str(virus), "--level", "ta")
    assert result.code == 2 and "title/abstract label" in result.err


def test_stopping_p_value_is_the_hypergeometric_tail():
    from math import comb

    from screener.ranking.stopping import recall_below_target_p

    # 40 found before sampling; a sample of 300 out of 1000 left finds none.
    p = recall_below_target_p(
        remaining=1000, sample_size=300, found_in_sample=0, found_before=40, target=0.95
    )
    k = 40 // 0.95 + 1 - 40  # the fewest relevant left under H0: 43 in total, 3 left
    expected = comb(1000 - int(k), 300) / comb(1000, 300)
    assert p == pytest.approx(expected)
    assert recall_below_target_p(1000, 1000, 0, 40) == 0.0


@pytest.mark.parametrize("sample", ["random", "ranked"])
def test_stopping_rule_meets_its_target_in_95_percent_of_runs(sample):
    """Random orders with the relevant records somewhat enriched early (as a ranking gives)."""
    from screener.ranking.stopping import simulate_stopping

    rng = np.random.RandomState(0)
    met, saved = 0, []
    runs = 200
    for _ in range(runs):
        n, relevant = 3000, rng.randint(30, 120)
        weights = np.where(np.arange(n) < relevant, 6.0, 1.0)
        order = rng.choice(n, size=n, replace=False, p=weights / weights.sum())
        labels = (order < relevant).astype(int)
        result = simulate_stopping(labels, relevant, rng, target=0.95, alpha=0.05, sample=sample)
        met += result.recall >= 0.95
        saved.append(result.work_saved)
    assert met / runs >= 0.95
    assert np.mean(saved) > 0.0


def test_stop_point_agrees_with_the_scalar_test():
    from screener.ranking.stopping import recall_below_target_p, simulate_stopping

    rng = np.random.RandomState(5)
    labels = (rng.rand(2000) < 0.03).astype(int)
    labels[:40] = 1  # a ranking that found most relevant records early
    result = simulate_stopping(labels, int(labels.sum()), np.random.RandomState(1), trigger=60)
    sample = labels[result.ranked : result.stopped_at]
    found_before = int(labels[: result.ranked].sum())
    p = recall_below_target_p(len(labels) - result.ranked, result.sample, int(sample.sum()), found_before)
    assert p == pytest.approx(result.p_value) and p < 0.05
    if result.sample > 1:  # one record fewer and the test had not yet rejected
        before = labels[result.ranked : result.stopped_at - 1]
        assert (
            recall_below_target_p(
                len(labels) - result.ranked, result.sample - 1, int(before.sum()), found_before
            )
            >= 0.05
        )


def test_live_estimate_ranked_order_tests_the_records_after_the_trigger():
    """The hypergeometric bound still comes from the records after the trigger; what the screen
    says and follows in ranked order is screener's stopping rule (stopping.DEFAULT_RULE, #16),
    which tells how many more records it expects to need."""
    from screener.ranking.stopping import DEFAULT_RULE, live_estimate

    labels = [1] * 100 + [0] * 49
    early = live_estimate(labels, total=3000, trigger=50)
    assert not early.sampling and early.recall_low is None and not early.safe_to_stop
    more = early.expected.more
    assert f"the stopping rule expects about {more} more record" in early.describe()
    # Past the trigger, more irrelevant records raise the recall bound until it reaches 95 %.
    bounds = []
    for extra in (1, 200, 600, 1400):
        estimate = live_estimate(labels + [0] * extra, total=3000, trigger=50)
        assert estimate.sampling and estimate.found == 100
        bounds.append(estimate.recall_low or 0.0)
    assert bounds == sorted(bounds) and bounds[0] < 0.95 <= bounds[-1]
    final = live_estimate(labels + [0] * 1400, total=3000, trigger=50)
    assert final.safe_to_stop and final.relevant_left_high <= 5
    assert "the stopping rule says stop: 95% recall is reached" in final.describe()
    # The rule says stop after exactly the records it expected, if none of them is relevant.
    assert live_estimate(labels + [0] * more, total=3000).safe_to_stop
    assert not live_estimate(labels + [0] * (more - 1), total=3000).safe_to_stop
    assert DEFAULT_RULE.says_stop(np.array(labels + [0] * more), 3000)
    # A relevant record in the sample counts against stopping.
    worse = live_estimate(labels + [0] * 1300 + [1] + [0] * 99, total=3000, trigger=50)
    assert worse.p_value > final.p_value


def test_live_estimate_in_random_order_keeps_its_guarantee():
    """Screening in random order and stopping when the rule says so reaches 95 % recall in at
    least 95 % of runs (the rule's promise at alpha = 0.05)."""
    from screener.ranking.stopping import live_estimate

    rng = np.random.RandomState(3)
    reached = []
    for _ in range(120):
        total, relevant = 1500, int(rng.randint(10, 80))
        labels = np.zeros(total, dtype=int)
        labels[rng.choice(total, relevant, replace=False)] = 1
        for screened in range(50, total + 1, 50):
            if live_estimate(labels[:screened], total, ranked=False).safe_to_stop:
                break
        reached.append(labels[:screened].sum() / relevant >= 0.95)
    assert np.mean(reached) >= 0.95


@pytest.mark.parametrize("threads", ["one", "blocks"])
@pytest.mark.parametrize("name", ["svm", "logistic"])
def test_fast_step_scores_unlabelled_records_exactly_as_sklearn(name, threads, monkeypatch):
    """The step's shortcuts (fit on the used columns, score without one-record terms, float32,
    row blocks scored on threads) rank the unlabelled records as sklearn's decision_function."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    import screener.ranking.ranker as ranking
    from screener.ranking.models import balanced_weights

    if threads == "blocks":
        monkeypatch.setattr(ranking, "_PARALLEL_FROM_NNZ", 0)
        monkeypatch.setattr("os.cpu_count", lambda: 3)
    rng = np.random.RandomState(0)
    vocabulary = [f"w{k}" for k in range(3000)]
    texts = [" ".join(rng.choice(vocabulary, 40)) + f" only{k}" for k in range(1500)]
    ranker = Ranker(texts, RankerConfig(classifier=name, interleave=False))
    labelled = rng.choice(1500, 120, replace=False)
    y = (rng.rand(120) < 0.3).astype(int)
    ranker.fit(labelled, y)
    assert len(ranker.models) == 1 and len(ranker.models[0]._shared_blocks) == (
        3 if threads == "blocks" else 1
    )
    X = ranker.X.astype(np.float64)
    reference = (
        LinearSVC(C=0.11, dual=True, max_iter=5000)
        if name == "svm"
        else LogisticRegression(C=1.0, max_iter=2000, solver="liblinear")
    )
    balance = 9.8 if name == "svm" else 1.0
    reference.fit(X[labelled], y, sample_weight=balanced_weights(y, balance))
    unlabelled = np.setdiff1d(np.arange(1500), labelled)
    expected = reference.decision_function(X[unlabelled])
    np.testing.assert_allclose(ranker.scores[unlabelled], expected, atol=2e-4)
    order = ranker.next_order(unlabelled)
    assert list(order[:50]) == list(unlabelled[np.argsort(-expected, kind="stable")][:50])
    # The next steps reuse the rows renumbered before: decisions undone, new ones, another order.
    for _ in range(2):
        others = rng.choice(np.setdiff1d(np.arange(1500), labelled), 30, replace=False)
        labelled = rng.permutation(np.concatenate([labelled[20:], others]))
        y = (rng.rand(len(labelled)) < 0.3).astype(int)
        ranker.fit(labelled, y)
        reference.fit(X[labelled], y, sample_weight=balanced_weights(y, balance))
        unlabelled = np.setdiff1d(np.arange(1500), labelled)
        expected = reference.decision_function(X[unlabelled])
        np.testing.assert_allclose(ranker.scores[unlabelled], expected, atol=2e-4)


def test_two_models_take_turns_each_retrained_on_its_turn():
    from screener.ranking import TITLE_ABSTRACT_PARTNER

    rng = np.random.RandomState(1)
    vocabulary = [f"w{k}" for k in range(400)]
    texts = [
        " ".join(rng.choice(vocabulary, 30)) + " \x1f " + "; ".join(rng.choice(vocabulary[:40], 5))
        for _ in range(300)
    ]
    ranker = Ranker(texts)
    assert [m.config for m in ranker.models] == [RankerConfig(interleave=False), TITLE_ABSTRACT_PARTNER]
    labelled = list(rng.choice(300, 20, replace=False))
    y = list((rng.rand(20) < 0.4).astype(int))
    for step in range(4):
        before = [m.scores for m in ranker.models]
        ranker.fit(np.array(labelled), np.array(y))
        refitted = [k for k, m in enumerate(ranker.models) if m.scores is not before[k]]
        # The first fit trains both; then one model a step, in turns, and its scores rank.
        assert refitted == ([0, 1] if step == 0 else [step % 2])
        assert ranker.scores is ranker.models[step % 2].scores
        unlabelled = np.setdiff1d(np.arange(300), labelled)
        pick = int(ranker.next_order(unlabelled)[0])
        assert pick == unlabelled[np.argmax(ranker.models[step % 2].scores[unlabelled])]
        labelled.append(pick)
        y.append(int(rng.rand() < 0.4))
    # The partner reads no index terms: its matrix has no column for a term-only token.
    alone = Ranker(texts, RankerConfig(interleave=False))
    assert len(alone.models) == 1 and alone.X.shape == ranker.models[0].X.shape
    assert ranker.models[1].X.shape[1] < ranker.models[0].X.shape[1]


def test_feature_matrix_is_cached_per_texts(tmp_path, monkeypatch):
    from screener.ranking import features

    texts = [f"liver resection outcome {k} neuroendocrine" for k in range(50)]
    first = Ranker(texts, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2  # one matrix per model of the two taking turns

    def refuse(self, texts, progress=None):  # noqa: ANN001
        raise AssertionError("the cached matrix should have been used")

    monkeypatch.setattr(features.FEATURES[RankerConfig().features], "fit_transform", refuse)
    second = Ranker(texts, cache_dir=tmp_path)
    assert (first.X != second.X).nnz == 0 and second.X.dtype == np.float32
    with pytest.raises(AssertionError, match="cached matrix"):
        Ranker(texts + ["one more record"], cache_dir=tmp_path)  # other texts: computed afresh


@pytest.mark.parametrize("name", ["tfidf", "tfidf-words-chars", "tfidf-two-views", "tfidf-one-bag"])
def test_feature_build_reports_progress_and_builds_the_same_matrix(name):
    from screener.ranking import FEATURES

    rng = random.Random(3)
    vocabulary = ["liver", "resection", "metastases", "neuroendocrine", "survival", "tumour", "of", "the"]
    texts = [" ".join(rng.choice(vocabulary) for _ in range(12)) + f" r{k}" for k in range(600)]
    texts[7] += " \x1f Humans; Liver Neoplasms/surgery"  # index terms: a third pass for some options
    options = {"index_terms": "separate"} if name == "tfidf-two-views" else {}
    calls: list[tuple[int, int]] = []
    X = FEATURES[name](**options).fit_transform(texts, lambda done, total: calls.append((done, total)))
    passes = {"tfidf-words-chars": 2, "tfidf-two-views": 3}.get(name, 1)
    assert calls[-1] == (passes * len(texts), passes * len(texts))
    assert len(calls) > passes  # several updates per pass, not one at the end
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert (X != FEATURES[name](**options).fit_transform(texts)).nnz == 0


def test_ranker_reports_the_feature_build_but_not_a_cached_matrix(tmp_path):
    texts = [f"liver resection outcome {k} neuroendocrine" for k in range(300)]
    calls: list[tuple[int, int]] = []
    Ranker(texts, cache_dir=tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (600, 600)  # two models' features: one bar over both builds
    calls.clear()
    Ranker(texts, cache_dir=tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == []


def test_simulation_reports_each_relevant_record_found():
    rng = random.Random(5)
    texts = [
        ("liver resection " if k % 10 == 0 else "cardiac imaging ") + str(rng.random()) for k in range(200)
    ]
    labels = np.array([int(k % 10 == 0) for k in range(200)])
    calls: list[tuple[int, int]] = []
    simulate(texts, labels, 0, progress=lambda found, total: calls.append((found, total)))
    # The relevant prior first, then every other relevant record once, as it is found.
    assert calls == [(k, 20) for k in range(1, 21)]


def test_trigger_point_is_where_the_run_of_irrelevant_records_reaches_the_trigger():
    from screener.ranking.stopping import trigger_point

    assert trigger_point([1, 0, 0, 1, 0, 0, 0, 1], 3) == 7
    assert trigger_point([0, 0, 0], 3) == 3
    assert trigger_point([0, 0, 1, 0, 0], 3) is None
    assert trigger_point([], 1) is None


def test_index_terms_are_kept_apart_from_the_words():
    from screener.ranking.features import INDEX_TERMS_MARK, index_terms_of, record_text, words_of
    from screener.records import Record

    record = Record(
        title="Liver resection for metastases",
        abstract="We report 40 patients.",
        keywords=["neuroendocrine tumours"],
        mesh=["*Liver Neoplasms/surgery", "Humans", "Drug Therapy, Combination"],
    )
    text = record_text(record)
    assert words_of(text).strip() == "Liver resection for metastases We report 40 patients."
    assert index_terms_of(text) == [
        "neuroendocrine tumours",
        "liver neoplasms",
        "humans",
        "drug therapy, combination",
    ]
    bare = Record(title="Liver resection", abstract="")
    assert record_text(bare) == "Liver resection" and INDEX_TERMS_MARK not in record_text(bare)
    assert index_terms_of(record_text(bare)) == []


def test_two_views_read_index_terms_as_words_as_a_view_or_not_at_all():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from screener.ranking.features import TfidfTwoViews, words_of

    mark = "\x1f"
    texts = [
        f"hepatic resection outcome {mark} Humans; Liver Neoplasms/surgery",
        f"liver transplantation survival {mark} Humans; Liver Transplantation",
        "somatostatin analogues in carcinoid syndrome",
    ]
    words_only = TfidfTwoViews(index_terms="ignore").fit_transform(texts)
    # "ignore" is exactly the two views of title and abstract.
    assert (words_only != TfidfTwoViews().fit_transform([words_of(t) for t in texts])).nnz == 0
    as_words = TfidfTwoViews(index_terms="words").fit_transform(texts)
    separate = TfidfTwoViews(index_terms="separate", index_weight=0.5).fit_transform(texts)
    terms = TfidfVectorizer(analyzer=lambda d: d).fit(
        [["humans", "liver neoplasms", "liver transplantation"]]
    )
    # As words, "neoplasms" becomes a word feature; as a view, three whole terms are added.
    assert as_words.shape[1] > words_only.shape[1]
    assert separate.shape[1] == words_only.shape[1] + len(terms.vocabulary_)
    # Each row stays of unit length, and the third record (no terms) reads the same either way.
    np.testing.assert_allclose(np.sqrt(separate.multiply(separate).sum(axis=1)).A1, 1.0, rtol=1e-6)
    np.testing.assert_allclose(separate[2, : words_only.shape[1]].toarray(), words_only[2].toarray())
    # The view's weight sets the terms' share of each row: half the weight, a smaller share.
    lighter = TfidfTwoViews(index_terms="separate", index_weight=0.25).fit_transform(texts)
    share = lambda X: X[0, words_only.shape[1] :].multiply(X[0, words_only.shape[1] :]).sum()  # noqa: E731
    assert 0 < share(lighter) < share(separate)
    with pytest.raises(ValueError, match="index_terms"):
        TfidfTwoViews(index_terms="mesh")


def test_one_bag_holds_both_readings_and_counts_shared_ngrams_twice():
    from screener.ranking.features import TfidfOneBag, TfidfTwoViews

    texts = [
        "resection of the liver for metastases",
        "liver transplantation for metastases",
        "somatostatin analogues in the carcinoid syndrome",
    ]
    features = TfidfOneBag()
    X = features.fit_transform(texts)
    column = features.vectorizer.vocabulary_
    row = X[0].toarray().ravel()
    # Record 0's bag: n-grams of the reading without stop words ("resection liver") and of the
    # reading with them ("of the", "resection of"); words both readings give are in it twice.
    without = {"resection", "liver", "metastases", "resection liver", "liver metastases"}
    with_stop_words = {"resection", "of", "the", "liver", "for", "metastases", "resection of", "of the",
                       "the liver", "liver for", "for metastases"}  # fmt: skip
    assert {t for t in column if row[column[t]] > 0} == without | with_stop_words
    # Sublinear tf and smooth idf by hand: "liver" (both readings, in 2 of 3 records) against
    # "of the" (one reading, 1 record): (1 + ln 2)(ln(4/3) + 1) against (1)(ln(4/2) + 1).
    expected = (1 + np.log(2)) * (np.log(4 / 3) + 1) / (np.log(4 / 2) + 1)
    assert row[column["liver"]] / row[column["of the"]] == pytest.approx(expected, rel=1e-5)
    assert np.linalg.norm(row) == pytest.approx(1.0, rel=1e-6)
    # Fewer stored values than two views of the same texts: shared n-grams are stored once.
    assert X.nnz < TfidfTwoViews().fit_transform(texts).nnz
    with pytest.raises(ValueError, match="index_terms"):
        TfidfOneBag(index_terms="separate")


@pytest.mark.parametrize(
    "table, wrong",
    [
        ({"meaning": "on"}, "meaning must be one of off, turns"),
        ({"turns": 3}, "turns must be one of round, bandit"),
        # One model alone takes no turns: the setting would silently do nothing.
        ({"meaning": "turns", "interleave": False}, 'meaning = "turns" needs interleave = true'),
        ({"turns": "bandit", "interleave": False}, 'turns = "bandit" needs interleave = true'),
        # Naive Bayes reads counts; embeddings are signed.
        ({"features": "embedding", "classifier": "nb"}, 'features = "embedding" use "svm" or "logistic"'),
    ],
)
def test_ranking_table_names_a_wrong_meaning_or_turns(table, wrong):
    with pytest.raises(ValueError, match=wrong):
        RankerConfig.from_table(table)


def test_ranking_table_round_trips():
    for table in (
        {},
        {"classifier": "logistic", "index_terms": "ignore", "interleave": False},
        {"meaning": "turns", "turns": "bandit"},
    ):
        config = RankerConfig.from_table(table)
        assert RankerConfig.from_table(config.to_table()) == config
        assert table.items() <= config.to_table().items()


def _benchmark(name: str):  # noqa: ANN202
    """A script of benchmarks/ as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmarked_variant_builds():
    """ranking_variants.py names each part it compares, so a new default cannot change them."""
    from screener.ranking.ranker import build_parts

    module = _benchmark("ranking_variants")
    for name, config in module.VARIANTS.items():
        features, _, _ = build_parts(config)
        assert features.name == config.features
        # Only the default and its variations (with a question, or reading title and abstract
        # only) take turns: a variant that names one model is that model alone.
        on_the_default = name.startswith(("one-bag+elas-tiab", "tiab", "meaning", "bandit"))
        assert config.interleave == on_the_default, name
        if on_the_default:
            default = RankerConfig()
            assert (config.features, config.classifier) == (default.features, default.classifier), name


def test_ranking_bench_skips_a_dataset_without_the_level(tmp_path, capsys):
    """At --level ta a dataset with final labels only is left out, saying why, not a crash."""
    load_level = _benchmark("ranking_bench").load_level
    texts, labels = synthetic(40, 5)
    dataset = tmp_path / "final_only.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "included"])
        writer.writerows([text[:40], text, label] for text, label in zip(texts, labels, strict=True))
    assert load_level(dataset, "final") is not None
    assert load_level(dataset, "ta") is None
    assert "skipped final_only at level ta" in capsys.readouterr().err


# -- any number of records, any text: the ranking works or steps aside, never crashes ---------

DEGENERATE_TEXTS = {
    "none": [],
    "one": ["Liver resection for neuroendocrine metastases"],
    "two identical": ["Liver resection outcomes"] * 2,
    "three identical": ["Liver resection outcomes"] * 3,
    "empty strings": ["", "", ""],
    "only stop words": ["the of and", "and the", "of the and"],
    "only punctuation": ["!!!", "...", "?!; --"],
    "one-letter words": ["a b c", "x y z", "q r s"],
    "some empty": ["", "liver resection", "pancreas", ""],
    "index terms only": [" \x1f Humans; Liver", " \x1f Humans", " \x1f Liver; *Neoplasms/surgery"],
    "non-Latin scripts": ["肝切除术后生存率", "胰腺神经内分泌肿瘤", "Резекция печени", "استئصال الكبد"],
    "very long": ["liver " * 20000 + "resection", "pancreas " * 20000, "survival " * 20000],
}
CONFIGS = {
    "default": RankerConfig(),
    "alone": RankerConfig(interleave=False),
    "words and chars": RankerConfig(features="tfidf-words-chars", interleave=False),
    "two views, terms apart": RankerConfig(
        features="tfidf-two-views", feature_options={"index_terms": "separate"}, interleave=False
    ),
    "naive bayes": RankerConfig(classifier="nb"),
    "logistic, uncertainty": RankerConfig(classifier="logistic", query="uncertainty"),
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("texts", DEGENERATE_TEXTS.values(), ids=DEGENERATE_TEXTS.keys())
def test_ranker_works_or_steps_aside_for_any_texts(texts, config):
    ranker = Ranker(texts, config)
    n = len(texts)
    if n >= 2:
        ranker.fit(np.array([0, 1]), np.array([1, 0]))
        ranker.fit(np.array([1, 0]), np.array([0, 1]))  # the other model's turn
    rest = np.arange(min(n, 2), n)
    order = ranker.next_order(rest)
    assert sorted(order.tolist()) == rest.tolist()  # every unlabelled record, once
    assert np.all(np.isfinite(ranker.scores)) and len(ranker.scores) == n
    if ranker.notice:
        assert not ranker.fitted  # nothing to rank with, and it says so


def test_records_that_share_every_word_keep_their_order():
    """The crash reported: scikit-learn's 'After pruning, no terms remain'."""
    ranker = Ranker(["Liver resection (A)", "Liver resection (B)", "Liver resection (C)"])
    assert "ranking is off" in ranker.notice
    ranker.fit(np.array([0, 1]), np.array([1, 0]))
    assert not ranker.fitted


def test_one_model_that_cannot_read_the_texts_leaves_its_turns_to_the_other():
    # Only stop words: the default reads them (stop words kept), its partner too; words-and-
    # chars alone cannot. With one model unable, the other ranks on every turn.
    texts = ["the of and", "and the", "of the and", "the the"]
    ranker = Ranker(texts)
    broken = ranker.models[1]
    broken.problem, broken.X = "no terms", broken.X[:, :0].tocsr()
    for step in range(3):
        ranker.fit(np.array([0, 1]), np.array([1, 0]))
        assert ranker.fitted and ranker.scores is ranker.models[0].scores, step
    assert ranker.notice == ""  # ranking still works


def test_labelled_records_without_terms_give_no_model():
    ranker = Ranker(["", "", "liver resection", "pancreas surgery"], RankerConfig(interleave=False))
    ranker.fit(np.array([0, 1]), np.array([1, 0]))
    assert not ranker.fitted and ranker.notice == ""
    ranker.fit(np.array([0, 1, 2, 3]), np.array([1, 0, 1, 0]))
    assert ranker.fitted


def test_index_weight_must_be_a_finite_number():
    for bad in (float("nan"), float("inf"), -1):
        with pytest.raises(ValueError, match="index_weight"):
            RankerConfig.from_table({"features": "tfidf-two-views", "index_weight": bad})
    with pytest.raises(ValueError, match="must be a table"):
        RankerConfig.from_table(["features"])


@pytest.mark.parametrize("seeds", ["a", "", "1,,2", "-1", "1.5", "0,0", "4294967296", "٣"])
def test_simulate_seeds_are_checked_before_any_work(cli, tmp_path, seeds):
    dataset = tmp_path / "missing.csv"
    dataset.write_text("title,label_included\nx,1\ny,0\n")
    result = cli("simulate", str(dataset), "--seeds", seeds)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith("error: --seeds") and result.err.count("\n") == 1, result


@pytest.mark.parametrize(
    "titles", [["Liver resection (A)", "Liver resection (B)"], ["", "", ""], ["x", "y", "z"]]
)
def test_simulate_tiny_or_degenerate_datasets(cli, tmp_path, titles):
    dataset = tmp_path / "tiny.csv"
    with dataset.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "title", "abstract", "label_included"])
        for k, title in enumerate(titles):
            writer.writerow([k, title, title, int(k == 0)])
    out = tmp_path / "orders"
    result = cli("simulate", str(dataset), "--seeds", "0,1", "--orders-out", str(out), "--json")
    assert result.code == 0, result
    rows = list(csv.DictReader((out / "tiny_seed1.csv").open()))
    assert sorted(int(r["row"]) for r in rows) == list(range(len(titles)))


def test_loss_is_the_share_of_area_lost_against_the_perfect_recall_curve():
    from screener.ranking.metrics import loss

    assert loss(np.array([1, 0])) == 0.0  # the relevant record first: perfect
    assert loss(np.array([0, 1])) == 1.0  # last: the worst order
    assert loss(np.array([1, 1, 0, 0, 0])) == 0.0
    assert loss(np.array([0, 0, 0, 1, 1])) == 1.0
    assert loss(np.array([1, 0, 1])) == 0.5
    assert np.isnan(loss(np.array([0, 0, 0]))) and np.isnan(loss(np.array([1, 1])))
    rng = np.random.RandomState(0)
    for _ in range(200):
        order = (rng.rand(rng.randint(2, 60)) < rng.rand()).astype(int)
        if order.sum() in (0, len(order)):
            continue
        # The same areas counted step by step: found after each record, perfect and worst orders.
        best = np.sort(order)[::-1]
        worst = np.sort(order)
        area = [sum(np.cumsum(o)) for o in (order, best, worst)]
        expected = (area[1] - area[0]) / (area[1] - area[2])
        assert loss(order) == pytest.approx(expected)
        assert 0.0 <= loss(order) <= 1.0


def test_light_config_names_and_options_match_the_parts():
    """ranking.config checks [ranking] without importing the parts: its names and the options
    it lets each feature extractor take are the parts' own."""
    import inspect

    from screener.ranking import CLASSIFIERS, FEATURES, QUERIES
    from screener.ranking.config import (
        CLASSIFIER_NAMES,
        FEATURE_NAMES,
        INDEX_TERMS,
        QUERY_NAMES,
        TAKES_INDEX_WEIGHT,
    )

    assert FEATURE_NAMES == tuple(FEATURES)
    assert CLASSIFIER_NAMES == tuple(CLASSIFIERS)
    assert QUERY_NAMES == tuple(QUERIES)
    for name, extractor in FEATURES.items():
        accepts = inspect.signature(extractor).parameters
        assert ("index_terms" in accepts) == (name in INDEX_TERMS), name
        assert ("index_weight" in accepts) == (name in TAKES_INDEX_WEIGHT), name
        for value in INDEX_TERMS.get(name, ()):
            if name != "embedding":  # its weights may be absent here; the check comes first
                extractor(index_terms=value)
        if name in INDEX_TERMS:
            with pytest.raises(ValueError, match="index_terms must be"):
                extractor(index_terms="everything")


def test_checking_the_ranking_table_imports_no_numerical_library():
    """Every command reads review.toml: its [ranking] table is checked without numpy, scipy or
    scikit-learn (0.4 s), which load when a ranking is built."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from screener.ranking import RankerConfig\n"
        "RankerConfig.from_table({'features': 'tfidf-two-views', 'index_terms': 'separate', "
        "'index_weight': 0.3, 'meaning': 'turns'})\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_long_ranking_value_is_cut_short_in_its_message():
    two_views = {"features": "tfidf-two-views", "index_weight": "9" * 200_000}
    for table in ({"index_terms": "x" * 200_000}, two_views):
        with pytest.raises(ValueError) as refused:
            RankerConfig.from_table(table)
        assert len(str(refused.value)) < 200


def test_stable_argsort_orders_as_numpys_stable_sort():
    """The packed-integer sort the step uses gives np.argsort's stable order exactly: ties in
    position order, -0.0 beside 0.0, infinities at the ends; NaN and other dtypes fall back."""
    from screener.ranking.query import stable_argsort

    rng = np.random.default_rng(1)
    for trial in range(200):
        keys = rng.standard_normal(int(rng.integers(0, 2000))).astype(np.float32)
        kind = trial % 5
        if kind == 1:
            keys = np.round(keys, 1)  # many ties
        elif kind == 2:
            keys[rng.random(len(keys)) < 0.3] = 0.0
            keys[rng.random(len(keys)) < 0.3] = -0.0
        elif kind == 3:
            keys[rng.random(len(keys)) < 0.1] = np.inf
            keys[rng.random(len(keys)) < 0.1] = -np.inf
        elif kind == 4:
            keys[rng.random(len(keys)) < 0.1] = np.nan
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable")), trial
        wide = keys.astype(np.float64)
        assert np.array_equal(stable_argsort(wide), np.argsort(wide, kind="stable")), trial


def test_the_direct_liblinear_solve_gives_linearsvcs_coefficients(monkeypatch):
    """The SVM's direct call of liblinear gives LinearSVC's coefficients and intercept bit for
    bit, with question-scaled weights; when its check against LinearSVC fails, the fit takes
    LinearSVC itself and gives the same."""
    from scipy import sparse

    from screener.ranking import models

    assert models._direct_liblinear_agrees()
    rng = np.random.RandomState(5)
    for rows, columns in [(12, 30), (201, 4000), (600, 9000)]:
        X = sparse.random(rows, columns, density=0.02, format="csr", dtype=np.float32, random_state=rng)
        y = (rng.rand(rows) < 0.25).astype(int)
        y[:2] = [0, 1]
        scale = np.ones(rows)
        scale[-1] = 0.37
        svm = models.LinearSVM(seed=rng.randint(100))
        weights = models.balanced_weights(y, svm.balance) * scale
        expected_coef, expected_intercept = svm._solve(X, y, weights)
        coef, intercept = svm._solve_directly(X, y, weights)
        assert np.array_equal(coef, expected_coef) and np.array_equal(intercept, expected_intercept)
        used = np.arange(columns)
        svm.fit_compact(X, y, used, columns, scale)
        direct = svm.coef.copy(), svm.intercept
        monkeypatch.setattr(models, "_direct_liblinear_agrees", lambda: False)
        svm.fit_compact(X, y, used, columns, scale)
        monkeypatch.undo()
        assert np.array_equal(svm.coef, direct[0]) and svm.intercept == direct[1]
        assert np.array_equal(direct[0], np.ravel(expected_coef).astype(np.float32))
