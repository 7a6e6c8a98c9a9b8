// Keeps the processes of `npm start` (scripts/start-cluster.mjs) running, as an orchestrator keeps a
// deployed cluster's: a process that dies is started again after a backoff, the others go on serving.
// CommonJS with no imports, so that both the ES module start-cluster.mjs and the compiled tests load it.
'use strict';

/** 250 ms, doubling up to 5 s; back to 250 ms once a process has stayed up for 30 s. */
const BACKOFF = Object.freeze({ initialMs: 250, maxMs: 5_000, resetAfterMs: 30_000 });

/**
 * The delays between restarts of one process. `next(uptimeMs)` is called when it exits after running
 * `uptimeMs`, and returns how long to wait before starting it again: a process that crashes at once
 * again and again is restarted less and less often, one that ran for a while is restarted quickly.
 */
function createBackoff({ initialMs, maxMs, resetAfterMs } = BACKOFF) {
  let delay = initialMs;
  return {
    next(uptimeMs) {
      if (uptimeMs >= resetAfterMs) delay = initialMs;
      const current = delay;
      delay = Math.min(delay * 2, maxMs);
      return current;
    },
  };
}

const running = (child) => child !== null && child.exitCode === null && child.signalCode === null;

/**
 * Runs `spawn()` (which returns a ChildProcess-like object: `once('exit')`, `kill()`, `exitCode`,
 * `signalCode`) and starts it again whenever it exits, until `stop()`. Each restart is logged in one
 * line: which process, its exit code or signal, and the delay. `now` and `timers` are for tests.
 */
function supervise({
  name,
  spawn,
  log = (line) => console.error(line),
  backoff = createBackoff(),
  now = Date.now,
  timers = { setTimeout, clearTimeout },
}) {
  let child = null;
  let timer = null;
  let stopping = false;

  const start = () => {
    timer = null;
    const startedAt = now();
    const current = spawn();
    child = current;
    current.once('exit', (code, signal) => {
      if (stopping) return;
      const delay = backoff.next(now() - startedAt);
      const how = signal ? `signal ${signal}` : `code ${code}`;
      log(`[${name}] exited (${how}), restarting in ${delay} ms`);
      timer = timers.setTimeout(start, delay);
    });
  };
  start();

  return {
    name,
    /** The process of the current run (it may have exited and be waiting for its restart). */
    get child() {
      return child;
    },
    /** No more restarts; sends `signal` to the process if it runs and resolves once it exited. */
    stop(signal = 'SIGTERM') {
      stopping = true;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      const current = child;
      if (!running(current)) return Promise.resolve();
      return new Promise((resolve) => {
        current.once('exit', () => resolve());
        current.kill(signal);
      });
    },
  };
}

module.exports = { BACKOFF, createBackoff, supervise };
