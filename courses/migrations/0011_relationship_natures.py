"""Relationships name their nature from courses.rules.RELATIONSHIP_NATURES. Natures typed
freely before are mapped to the list where the words say the same thing, and kept as
"other: <the words>" where they do not, so no disclosure changes what it says."""

from django.db import migrations

# Typed words (lower-cased, trimmed) that mean one of the listed natures.
SYNONYMS = {
    "consultant": "consultant",
    "consulting": "consultant",
    "consultancy": "consultant",
    "speaker": "speaker",
    "speakers bureau": "speaker",
    "speakers' bureau": "speaker",
    "speaker's bureau": "speaker",
    "speakers’ bureau": "speaker",
    "speaker’s bureau": "speaker",
    "speaking": "speaker",
    "speaking fees": "speaker",
    "researcher": "researcher",
    "research": "researcher",
    "research grant": "researcher",
    "research support": "researcher",
    "grant": "researcher",
    "grant recipient": "researcher",
    "grant/research support": "researcher",
    "researcher / grant recipient": "researcher",
    "advisory board": "advisory board",
    "advisory board member": "advisory board",
    "advisor": "advisory board",
    "adviser": "advisory board",
    "employee": "employee",
    "employment": "employee",
    "stock or ownership": "stock or ownership",
    "stock": "stock or ownership",
    "stockholder": "stock or ownership",
    "shareholder": "stock or ownership",
    "ownership": "stock or ownership",
    "ownership interest": "stock or ownership",
    "royalties": "royalties",
    "royalty": "royalties",
    "other": "other",
}


def listed_nature(nature):
    words = " ".join(nature.split())
    if words.lower().startswith("other:"):
        described = words[len("other:"):].strip()
        return f"other: {described}" if described else "other"
    return SYNONYMS.get(words.lower(), f"other: {words}")


def listed(item):
    # Rows saved without validation may hold anything; only a nature in words is mapped.
    if isinstance(item, dict) and isinstance(item.get("nature"), str) and item["nature"].strip():
        return {**item, "nature": listed_nature(item["nature"])}
    return item


def map_natures(apps, schema_editor):
    FacultyRole = apps.get_model("courses", "FacultyRole")
    for role in FacultyRole.objects.exclude(relationships=[]).only("relationships"):
        if not isinstance(role.relationships, list):
            continue
        relationships = [listed(item) for item in role.relationships]
        if relationships != role.relationships:
            FacultyRole.objects.filter(pk=role.pk).update(relationships=relationships)


class Migration(migrations.Migration):
    dependencies = [("courses", "0010_accreditation_fields")]

    # Going back leaves the mapped natures as they are: each is still text that reads right.
    operations = [migrations.RunPython(map_natures, migrations.RunPython.noop)]
