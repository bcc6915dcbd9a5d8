"""The stage tester against bugs planted in an independent server: chapters 05-08.

The same as test_stages_mutants_early.py for the later chapters; the slowloris
stage's own bug (no head deadline) is tested in test_stages.py, where it can
shorten the stage's bound.
"""

import pytest

from stage_mutants import MUTANTS, check_mutant

LATE = [mutant for mutant in MUTANTS if mutant.chapter >= "05"]


@pytest.mark.parametrize("mutant", LATE, ids=[mutant.flaw for mutant in LATE])
def test_the_stage_aimed_at_a_planted_bug_catches_it_and_names_its_rule(mutant, record_property):
    check_mutant(mutant, record_property)
