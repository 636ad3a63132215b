import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_renewed(task=None, **kwargs):
    """What Django does around each request, around each task a worker runs: a connection
    past CONN_MAX_AGE, or broken (its health check fails, or an error left it unusable),
    is closed and the next query opens a new one. Not for a task run in-process (eagerly),
    which runs inside its caller's connection and transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()
