"""The stage tester against bugs planted in an independent server: chapters 01-04.

Each test plants one learner's mistake (FLAWS in tests/stage_servers/tiny_server.py) and checks
that the stage aimed at it fails, naming the rule the mistake breaks
(tests/stage_mutants.py has the table and says why). Chapters 05-08 are in
test_stages_mutants_late.py, so the two halves run in parallel.
"""

import pytest

from stage_mutants import MUTANTS, check_mutant

EARLY = [mutant for mutant in MUTANTS if mutant.chapter <= "04"]


@pytest.mark.parametrize("mutant", EARLY, ids=[mutant.flaw for mutant in EARLY])
def test_the_stage_aimed_at_a_planted_bug_catches_it_and_names_its_rule(mutant, record_property):
    check_mutant(mutant, record_property)
