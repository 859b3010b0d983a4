"""Scoring a clustering against gold duplicate groups, by bib-dedupe's convention.

Each predicted cluster keeps one record and removes the others. Then, for each true duplicate
group: if at least one of its records is kept, that is a TN, every removed member a TP and every
extra kept member an FN; if none is kept (all merged into another study's cluster), that is an
FP and the rest TPs. A true singleton kept is a TN, removed an FP. Sensitivity = TP/(TP+FN),
specificity = TN/(TN+FP).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 1.0

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)


def evaluate_clusters(
    gold_group: Mapping[Hashable, Hashable],
    kept: Iterable[Hashable],
) -> Confusion:
    """`gold_group`: record id -> true group id (singletons have their own group);
    `kept`: the ids left after deduplication (one per predicted cluster)."""
    kept_set = set(kept)
    members: dict[Hashable, list[Hashable]] = {}
    for record, group in gold_group.items():
        members.setdefault(group, []).append(record)
    result = Confusion()
    for group_members in members.values():
        kept_here = sum(1 for r in group_members if r in kept_set)
        if len(group_members) == 1:
            if kept_here:
                result.tn += 1
            else:
                result.fp += 1
            continue
        if kept_here == 0:
            result.fp += 1
            result.tp += len(group_members) - 1
        else:
            result.tn += 1
            result.fn += kept_here - 1
            result.tp += len(group_members) - kept_here
    return result
