"""Where apps to the right of courses plug into it. courses may not import them, yet the
method of participation must name the post-test's pass mark: quizzes registers how to
read it from its AppConfig.ready()."""

_pass_mark_lookups = []
_page_relations = []


def pass_mark_lookup_register(*, lookup, select_related=()):
    """`lookup(activity)` gives the pass mark a learner must reach, as the percentage text
    to print, or None where the activity has no such step. `select_related` names the
    relations it reads, so activity pages fetch them in their one query."""
    _pass_mark_lookups.append(lookup)
    _page_relations.extend(select_related)


def pass_mark_of(activity):
    for lookup in _pass_mark_lookups:
        mark = lookup(activity)
        if mark is not None:
            return mark
    return None


def page_relations():
    return tuple(_page_relations)
