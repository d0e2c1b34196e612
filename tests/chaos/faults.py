"""faults - the chaos driver: every few seconds it kills -9 a random process of the
stack (the gateway, any worker, Redis) or restarts Postgres, then starts it again.

Only the choice of victim and the pauses are random (seeded: CHAOS_SEED); what the
run checks afterwards does not depend on them."""
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

from harness import WORKERS, die_with_parent
from support import poll_until

TARGETS = ("gateway",) + WORKERS + ("redis", "postgres")


class CrashableRedis:
    """Wraps harness.Redis: crash() is kill -9, restart() starts a new server on the same port."""

    def __init__(self, redis):
        self.redis = redis

    def crash(self):
        self.redis.proc.send_signal(signal.SIGKILL)
        self.redis.proc.wait()

    def restart(self):
        server = self.redis
        log = open(Path(server.dir) / "redis.log", "ab")
        server.proc = subprocess.Popen(
            ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", server.dir, "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())
        log.close()
        if not poll_until(lambda: server._ping() or server.proc.poll() is not None, 10) or server.proc.poll() is not None:
            raise RuntimeError("redis-server did not restart")


class Driver(threading.Thread):
    """Kills and restarts until stop() is called. env[name]: the settings a process restarts with."""

    def __init__(self, stack, postgres, redis, env, seed, pause=(1.0, 4.0)):
        super().__init__(name="chaos-driver", daemon=True)
        self.stack = stack
        self.postgres = postgres
        self.redis = CrashableRedis(redis)
        self.env = env
        self.random = random.Random(seed)
        self.pause = pause
        self.stopping = threading.Event()
        self.idle = threading.Event()
        self.released = threading.Event()
        self.counts = {target: 0 for target in TARGETS}
        self.unexpected = []   # processes found dead that the driver did not kill
        self.error = None

    def stop(self):
        """No more faults; returns once the last victim is running again."""
        self.stopping.set()
        self.idle.wait(60)

    def release(self):
        """Ends the thread: only at teardown, after every process was stopped. The processes it
        restarted are its children, and PR_SET_PDEATHSIG (harness.die_with_parent) kills a child
        when the *thread* that forked it ends, not only the process."""
        self.released.set()
        self.join(10)

    def run(self):
        try:
            while not self.stopping.wait(self.random.uniform(*self.pause)):
                self.strike(self.random.choice(TARGETS))
                self.revive_unexpected()
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            self.idle.set()
        self.released.wait()

    def strike(self, target):
        down = self.random.uniform(0.0, 0.5)
        if target == "postgres":
            self.postgres.pause()      # a fast shutdown: every session is cut
            time.sleep(down)
            self.postgres.resume()
        elif target == "redis":
            self.redis.crash()
            time.sleep(down)
            self.redis.restart()
        else:
            for proc in [p for p in self.stack.procs if p.name == target and p.alive()]:
                self.stack.kill(proc, signal.SIGKILL)
                proc.popen.wait(10)
            time.sleep(down)
            self.stack.start(target, **self.env.get(target, {}))
        self.counts[target] += 1

    def revive_unexpected(self):
        """A stack process that died without our signal is a finding: noted, then restarted."""
        for name in ("gateway",) + WORKERS:
            procs = [p for p in self.stack.procs if p.name == name]
            if procs and not any(p.alive() for p in procs):
                last = procs[-1]
                if signal.SIGKILL not in last.signals_sent:
                    self.unexpected.append(f"{name} exited {last.returncode} ({last.log_path})")
                self.stack.start(name, **self.env.get(name, {}))
