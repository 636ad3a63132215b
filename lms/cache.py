"""The Redis cache, made to fail open: when Redis does not answer, reads miss and writes
are dropped, so the site goes on from the database (a little slower) instead of answering
500. Sessions (cached_db), shared pages (courses.cache) and allauth's rate limits all sit
on this cache; the broker outage the certificate path recovers from (certificates.issuing)
must not take the pages down with it."""

import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def _fail_open(name, answer):
    method = getattr(RedisCache, name)

    def tolerant(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except REDIS_DOWN as error:
            logger.warning("Redis cache unavailable, %s went on without it: %s", name, error)
            return answer(*args, **kwargs)

    tolerant.__name__ = name
    return tolerant


def _default(key, default=None, *args, **kwargs):
    return default


class _SharedClients(RedisCacheClient):
    """One redis client per connection pool, where Django builds a new one for every cache
    call: building it cost about as much CPU as the GET it sends, and every signed-in page
    reads its session from here. A redis client is safe to share between threads; its
    pool hands each command a connection."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _SharedClients

    get = _fail_open("get", _default)
    get_many = _fail_open("get_many", lambda *args, **kwargs: {})
    has_key = _fail_open("has_key", lambda *args, **kwargs: False)
    set = _fail_open("set", lambda *args, **kwargs: None)
    set_many = _fail_open("set_many", lambda *args, **kwargs: [])
    # As if taken: a lock nobody can hold (allauth's rate-limit lock) must not spin.
    add = _fail_open("add", lambda *args, **kwargs: True)
    touch = _fail_open("touch", lambda *args, **kwargs: False)
    delete = _fail_open("delete", lambda *args, **kwargs: False)
    delete_many = _fail_open("delete_many", lambda *args, **kwargs: None)
    incr = _fail_open("incr", lambda key, delta=1, *args, **kwargs: delta)
