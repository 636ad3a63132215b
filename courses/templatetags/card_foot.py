"""A catalog card's part that is the signed-in learner's own: their status and the save
button. Written in Python, not a template, as the catalog writes it 20 times a page onto
cards it shares with everyone (courses.views); {% card_foot activity %} writes it on the
saved activities page."""

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from courses.selectors import LearnerState

register = template.Library()


def card_foot_html(*, state, saved, title, save_url, csrf_token, next_url):
    return format_html(
        '<div class="card-foot">'
        '<span class="learner-state state-{state}">Your status: {label}</span>'
        '<form method="post" action="{save_url}" class="inline-form">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token}">'
        '<input type="hidden" name="next" value="{next_url}">'
        '<input type="hidden" name="saved" value="{value}">'
        # The name starts with the visible word (WCAG 2.5.3), the title tells the buttons apart.
        '<button type="submit" class="link-button">{word}<span class="visually-hidden"> {title}</span></button>'
        "</form></div>",
        state=state,
        label=LearnerState.LABELS[state],
        save_url=save_url,
        csrf_token=csrf_token,
        next_url=next_url,
        value="0" if saved else "1",
        word="Unsave" if saved else "Save",
        title=title,
    )


@register.simple_tag(takes_context=True)
def card_foot(context, activity):
    """`activity` carries the learner's marks (courses.selectors.learner_marks)."""
    request = context["request"]
    return card_foot_html(
        state=activity.learner_state,
        saved=activity.saved,
        title=activity.title,
        save_url=reverse("courses:save", kwargs={"slug": activity.slug}),
        csrf_token=get_token(request),
        next_url=request.get_full_path(),
    )
