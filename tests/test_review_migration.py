"""quizzes 0003: the one "show_answers" setting becomes what a fail and what a pass show."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from quizzes.models import PostTest

from .factories import complete_activity

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("quizzes", "0002_multi_answer_review_and_default_evaluation")
MAPPING = {
    "after_pass": ("score", "correct_answers"),
    "after_every_attempt": ("correct_answers", "correct_answers"),
    "never": ("score", "wrong_questions"),
}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_maps_each_old_setting_to_what_a_fail_and_a_pass_show(provider):
    posttests = {old: complete_activity().posttest.pk for old in MAPPING}
    try:
        old_apps = migrate([BEFORE])
        OldPostTest = old_apps.get_model("quizzes", "PostTest")
        for old, pk in posttests.items():
            OldPostTest.objects.filter(pk=pk).update(show_answers=old)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    for old, pk in posttests.items():
        posttest = PostTest.objects.get(pk=pk)
        assert (posttest.review_after_fail, posttest.review_after_pass) == MAPPING[old]


def test_it_maps_the_settings_back_when_the_migration_is_reversed(provider):
    settings = {
        "after_pass": ("score", "correct_answers"),
        "after_every_attempt": ("correct_answers", "wrong_questions"),
        "never": ("wrong_questions", "wrong_questions"),
    }
    posttests = {}
    for old, (after_fail, after_pass) in settings.items():
        posttest = complete_activity().posttest
        PostTest.objects.filter(pk=posttest.pk).update(
            review_after_fail=after_fail, review_after_pass=after_pass
        )
        posttests[old] = posttest.pk
    try:
        OldPostTest = migrate([BEFORE]).get_model("quizzes", "PostTest")
        assert {old: OldPostTest.objects.get(pk=pk).show_answers for old, pk in posttests.items()} == {
            old: old for old in posttests
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
