# Django's English formats, with the time zone's abbreviation on every date-time shown
# (the admin's lists and read-only fields included): times are in the provider's zone.
DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
