"""The credit wording of pages and PDFs, from the one function each in courses/statements.py:
{{ activity.credits|ama_credits }} → "1 AMA PRA Category 1 Credit™",
{{ certificate.hours|participation_hours }} → "1 hour of participation",
{{ year.totals|credit_amounts }} → "2 AMA PRA Category 1 Credits™, 1 ABIM MOC point"
(anything with an `amount_display`: offers, totals, a certificate's lines)."""

from django import template

from courses.statements import ama_credits, hours_of_participation

register = template.Library()
register.filter("ama_credits", ama_credits)
register.filter("participation_hours", hours_of_participation)


@register.filter
def credit_amounts(amounts):
    return ", ".join(amount.amount_display for amount in amounts)
