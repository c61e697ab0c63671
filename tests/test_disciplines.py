"""The discipline definitions that drive the panels: plan titles and suggestion lists."""

from teamdash.clinical import disciplines


def test_every_discipline_with_plan_items_names_them():
    for d in disciplines.all_disciplines():
        if d.plan_categories:
            assert d.plan_title, f"{d.code} lists plan categories but no plan_title"


def test_plan_title_is_read_from_resources():
    assert disciplines.get("sleep").plan_title == "Sleep hygiene"
    assert disciplines.get("pt").plan_title == ""  # no plan items, no title


def test_form_suggestion_vocabularies_exist():
    for name in ("course_kinds", "contact_relationships", "graded_activity_units"):
        assert disciplines.vocabulary(name), name
