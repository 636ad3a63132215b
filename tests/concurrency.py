"""Running the same work at once from several threads, each on its own database connection."""

import threading

from django.db import connection


def in_threads(count, work):
    """Run `work` in `count` threads released together; each closes its own connection."""
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
