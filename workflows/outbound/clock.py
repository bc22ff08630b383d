"""The periodic schedule, kept by every worker: RQ's CronScheduler holds it in the worker's memory (not in Redis,
so a Redis that comes back empty loses nothing) and enqueues the tick every interval; the tick itself runs once
per interval however many workers enqueue it (workflows.outbound.jobs.periodic_tick)."""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler

from workflows.outbound.housekeeping import periodic_prune
from workflows.outbound.jobs import QUEUE_NAME, periodic_tick

log = logging.getLogger(__name__)


class Clock:
    """A daemon thread that enqueues the periodic jobs on time, riding out a Redis that is away."""

    def __init__(self, connection: Redis, tick_seconds: int):
        self.scheduler = CronScheduler(connection=connection, logging_level=logging.WARNING)
        self.scheduler.register(periodic_tick, QUEUE_NAME, interval=tick_seconds, job_timeout=max(60, tick_seconds * 4))
        # Retention: offered every tick, run by one worker once per RETENTION_EVERY (its own lock); a first prune of
        # a large backlog may take long, so not inside the tick.
        self.scheduler.register(periodic_prune, QUEUE_NAME, interval=tick_seconds, job_timeout=3600)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="akkoord-clock", daemon=True)

    def start(self) -> Clock:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        registered = False
        while not self._stop.is_set():
            try:
                if not registered:
                    self.scheduler.register_birth()
                    registered = True
                if self.scheduler.enqueue_jobs():  # a job not enqueued (Redis away) stays due and goes next time
                    self.scheduler.save()
                self.scheduler.heartbeat()
                wait = self.scheduler.calculate_sleep_interval()
            except RedisError as error:
                log.warning("clock: Redis cannot be reached (%s); trying again", error)
                registered = False
                wait = 1.0
            self._stop.wait(max(wait, 0.2))
        try:
            self.scheduler.register_death()
        except RedisError:
            pass
