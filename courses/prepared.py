"""Querysets compiled to SQL once per process, for the reads every signed-in page makes.

Django compiles a queryset to SQL each time it runs. For the short reads a learner's
pages make on every load (the provider, a participation with its activity) compiling
costs more CPU than PostgreSQL spends answering: about 0.3 ms a query, over a millisecond
for a five-table select_related. A PreparedQuery builds its queryset once per database
connection, with stand-in values for the parameters that change between calls, keeps the
SQL and Django's own recipe for turning rows into model instances (the converters,
select_related's populators, annotations), and runs that SQL with each call's values.

Only for querysets whose SQL depends on nothing but those parameters: nothing that reads
the current time zone (a __date lookup writes it into the SQL) or a setting when it is
compiled. Each stand-in must reach the SQL's parameters unchanged (an exact lookup).
"""

import weakref
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models.query import ModelIterable, get_related_populators


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    positions: dict  # parameter name -> its indexes in params
    compiler: object
    converters: dict
    init_list: list
    model_fields: slice
    related_populators: list
    annotation_col_map: dict


class PreparedQuery:
    """`build(**stand_ins)` returns the queryset; `list(**values)` and `first(**values)`
    (model instances) or `rows(**values)` (a values_list() queryset's tuples) run it with
    `values` in place of the stand-ins, as one query, giving what the same queryset built
    with those values would give."""

    def __init__(self, model, build, **stand_ins):
        self.model = model
        self._build = build
        self._stand_ins = stand_ins
        # Per connection: a compiler belongs to its connection, and each thread has its own.
        self._compiled = weakref.WeakKeyDictionary()

    def list(self, **values):
        compiled, alias, rows = self._run(values)
        if compiled.init_list is None:
            raise ImproperlyConfigured("a values() or values_list() query gives rows(), not instances")
        objects = []
        for row in rows:
            obj = self.model.from_db(alias, compiled.init_list, row[compiled.model_fields])
            for populator in compiled.related_populators:
                populator.populate(row, obj)
            for name, position in compiled.annotation_col_map.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects

    def rows(self, **values):
        """The rows as tuples, columns in the SQL's order: a values_list() queryset's
        fields in the order it names them, then its annotations."""
        return [tuple(row) for row in self._run(values)[2]]

    def _run(self, values):
        if values.keys() != self._stand_ins.keys():
            raise TypeError(f"expected the values {sorted(self._stand_ins)}, got {sorted(values)}")
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(alias)
        params = list(compiled.params)
        for name, indexes in compiled.positions.items():
            for index in indexes:
                params[index] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return compiled, alias, rows

    def first(self, **values):
        found = self.list(**values)
        return found[0] if found else None

    def _compile(self, alias):
        queryset = self._build(**self._stand_ins)
        if queryset.model is not self.model:
            raise ImproperlyConfigured(f"the queryset is of {queryset.model.__name__}, not {self.model.__name__}")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = {}
        for name, stand_in in self._stand_ins.items():
            positions[name] = [
                index for index, param in enumerate(params) if type(param) is type(stand_in) and param == stand_in
            ]
            if not positions[name]:
                raise ImproperlyConfigured(f"the stand-in for {name!r} does not reach the query's parameters as it is")
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[: compiler.col_count]]
        if compiler.has_composite_fields(fields):
            raise ImproperlyConfigured("composite fields are not supported")
        compiled = dict(
            sql=sql, params=tuple(params), positions=positions, compiler=compiler,
            converters=compiler.get_converters(fields),
        )
        if queryset._iterable_class is not ModelIterable:  # values() or values_list(): rows only
            return _Compiled(**compiled, init_list=None, model_fields=None, related_populators=[], annotation_col_map={})
        select_fields = klass_info["select_fields"]
        model_fields = slice(select_fields[0], select_fields[-1] + 1)
        return _Compiled(
            **compiled,
            init_list=[column[0].target.attname for column in select[model_fields]],
            model_fields=model_fields,
            related_populators=get_related_populators(klass_info, select, alias),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
        )
