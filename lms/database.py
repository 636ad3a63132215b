"""PostgreSQL statements with their values sent apart from the SQL (server-side binding,
settings: DATABASE_PREPARED_STATEMENTS), which lets psycopg prepare the statements a
connection runs again and again, so PostgreSQL plans them once."""

import psycopg
from django.db.backends.postgresql.base import ServerBindingCursor

# What PostgreSQL's protocol carries with one statement. A longer list of values (a bulk
# insert of thousands of rows, a long id list) goes with its values written into the SQL,
# as Django sends every statement without server-side binding.
MAX_BOUND_VALUES = 65535


class Cursor(ServerBindingCursor):
    def execute(self, query, params=None, **kwargs):
        if params is not None and len(params) > MAX_BOUND_VALUES:
            query, params = psycopg.ClientCursor(self.connection).mogrify(query, params), None
        return super().execute(query, params, **kwargs)


def cursor_class_set(*, sender, connection, **kwargs):
    """connection_created receiver: new connections make their cursors of this class."""
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("server_side_binding"):
        connection.connection.cursor_factory = Cursor
