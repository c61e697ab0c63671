"""Demo graded activity plans are internally consistent: the plan's current level is the
level the patient last achieved, not a figure beyond every logged week."""

from teamdash.services import plans
from teamdash.services.auth import SYSTEM


def test_current_level_is_the_last_logged_week(clinic):
    checked = 0
    for pid in range(1, 21):
        for plan in plans.GRADED_PLANS.list(SYSTEM, pid):
            weeks = plans.GRADED_WEEKS.list(SYSTEM, plan.id)
            if weeks:
                assert plan.current_level == weeks[-1].achieved_level
                assert plan.current_level <= max(w.achieved_level for w in weeks)
                checked += 1
    assert checked >= 10
