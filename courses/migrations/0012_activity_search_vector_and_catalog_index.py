"""A stored, weighted search vector for activities (PostgreSQL), filled for the rows
already there, with its GIN index; and a partial index for the catalog's listing."""

import django.contrib.postgres.search
from django.db import migrations, models

# The vector courses.search.activity_search_vector stores, written out so this migration
# keeps meaning what it meant when it ran.
FILL = """
UPDATE courses_activity AS a SET search_vector =
    setweight(to_tsvector('english', COALESCE(a.title, '')), 'A')
    || setweight(to_tsvector('english',
        COALESCE((SELECT string_agg(o.text, ' ') FROM courses_learningobjective o
                  WHERE o.activity_id = a.id), '')
        || ' ' ||
        COALESCE((SELECT string_agg(p.name, ' ') FROM courses_facultyrole r
                  JOIN courses_person p ON p.id = r.person_id
                  WHERE r.activity_id = a.id), '')), 'B')
    || setweight(to_tsvector('english', COALESCE(a.description, '')), 'C')
"""
GIN_INDEX = "activity_search_vector_gin"


def search_index_create(apps, schema_editor):
    # SQLite (the embedded demo) has neither tsvector functions nor GIN indexes.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FILL)
    schema_editor.execute(
        f"CREATE INDEX {GIN_INDEX} ON courses_activity USING gin (search_vector)"
    )


def search_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("courses", "0011_relationship_natures"),
    ]

    operations = [
        migrations.AddField(
            model_name="activity",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(
                condition=models.Q(("status", "published")),
                fields=["-release_date", "title", "id", "termination_date"],
                name="activity_catalog_idx",
            ),
        ),
        migrations.RunPython(search_index_create, search_index_drop),
    ]
