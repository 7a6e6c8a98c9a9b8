import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

interface Backoff {
  next(uptimeMs: number): number;
}
interface ChildLike {
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
}
interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
interface Supervisor {
  readonly child: ChildLike | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}
interface SuperviseModule {
  BACKOFF: { initialMs: number; maxMs: number; resetAfterMs: number };
  createBackoff(options?: { initialMs: number; maxMs: number; resetAfterMs: number }): Backoff;
  supervise(options: {
    name: string;
    spawn: () => ChildLike;
    log?: (line: string) => void;
    backoff?: Backoff;
    now?: () => number;
    timers?: Timers;
  }): Supervisor;
}

// scripts/ holds plain Node scripts, run as they are by `npm start`: loaded from the source tree.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { BACKOFF, createBackoff, supervise } = require(
  join(__dirname, '..', '..', '..', 'scripts', 'supervise.cjs'),
) as SuperviseModule;

/** A process that exits when the test says so. */
class FakeChild extends EventEmitter implements ChildLike {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly signals: NodeJS.Signals[] = [];
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    [this.exitCode, this.signalCode] = [code, signal];
    this.emit('exit', code, signal);
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    queueMicrotask(() => this.exit(null, signal));
    return true;
  }
}

function spawnFake(children: FakeChild[]): FakeChild {
  const child = new FakeChild();
  children.push(child);
  return child;
}

/** A clock and timers the test advances by hand. */
function fakeTime(): { now: () => number; timers: Timers; advance(ms: number): void; pending(): number } {
  let time = 0;
  let due: { at: number; fn: () => void }[] = [];
  return {
    now: () => time,
    timers: {
      setTimeout: (fn, ms) => {
        const entry = { at: time + ms, fn };
        due.push(entry);
        return entry;
      },
      clearTimeout: (handle) => void (due = due.filter((d) => d !== handle)),
    },
    advance(ms) {
      time += ms;
      const ready = due.filter((d) => d.at <= time);
      due = due.filter((d) => d.at > time);
      ready.forEach((d) => d.fn());
    },
    pending: () => due.length,
  };
}

function superviseFakes(name: string, children: FakeChild[], time: ReturnType<typeof fakeTime>): Supervisor {
  return supervise({
    name,
    spawn: () => spawnFake(children),
    log: () => undefined,
    now: time.now,
    timers: time.timers,
  });
}

describe('scripts/supervise.cjs (npm start restarts what dies)', () => {
  it('backs off from 250 ms doubling to 5 s, and starts over once a process stayed up 30 s', () => {
    assert.deepEqual(BACKOFF, { initialMs: 250, maxMs: 5_000, resetAfterMs: 30_000 });
    const backoff = createBackoff();
    const crashes = Array.from({ length: 8 }, () => backoff.next(100));
    assert.deepEqual(crashes, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    assert.equal(backoff.next(29_999), 5000, 'up for less than 30 s: still backing off');
    assert.equal(backoff.next(30_000), 250, 'up for 30 s: back to the first delay');
    assert.equal(backoff.next(10), 500);
  });

  it('restarts a process that exits, after the backoff, with one log line each time', () => {
    const time = fakeTime();
    const children: FakeChild[] = [];
    const lines: string[] = [];
    const supervisor = supervise({
      name: 'gateway-a',
      spawn: () => spawnFake(children),
      log: (line) => lines.push(line),
      now: time.now,
      timers: time.timers,
    });
    assert.equal(children.length, 1);
    assert.equal(supervisor.child, children[0]);

    children[0].exit(null, 'SIGKILL');
    assert.deepEqual(lines, ['[gateway-a] exited (signal SIGKILL), restarting in 250 ms']);
    time.advance(249);
    assert.equal(children.length, 1, 'not before the delay');
    time.advance(1);
    assert.equal(children.length, 2, 'restarted after 250 ms');
    assert.equal(supervisor.child, children[1]);

    children[1].exit(1);
    assert.equal(lines[1], '[gateway-a] exited (code 1), restarting in 500 ms');
    time.advance(500);
    time.advance(40_000);
    children[2].exit(0);
    assert.equal(lines[2], '[gateway-a] exited (code 0), restarting in 250 ms', 'it had stayed up 40 s');
  });

  it('stop() ends the process and cancels a pending restart', async () => {
    const time = fakeTime();
    const children: FakeChild[] = [];
    const supervisor = superviseFakes('ingest', children, time);
    await supervisor.stop('SIGTERM');
    assert.deepEqual(children[0].signals, ['SIGTERM']);
    time.advance(10_000);
    assert.equal(children.length, 1, 'a process stopped on purpose is not restarted');

    const crashed = superviseFakes('demo', children, time);
    children[1].exit(1);
    assert.equal(time.pending(), 1, 'a restart is scheduled');
    await crashed.stop();
    assert.equal(time.pending(), 0, 'and cancelled by stop()');
    assert.equal(children.length, 2);
  });

  it('restarts a real process killed with SIGKILL', async () => {
    const pids: number[] = [];
    const lines: string[] = [];
    const supervisor = supervise({
      name: 'sleeper',
      spawn: () => {
        const child: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
          stdio: 'ignore',
        });
        pids.push(child.pid ?? 0);
        return child as ChildLike;
      },
      log: (line) => lines.push(line),
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      process.kill(pids[0], 'SIGKILL');
      const deadline = Date.now() + 5_000;
      while (pids.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(pids.length, 2, 'started again');
      assert.deepEqual(lines, ['[sleeper] exited (signal SIGKILL), restarting in 250 ms']);
    } finally {
      await supervisor.stop();
    }
    assert.equal(supervisor.child?.signalCode, 'SIGTERM', 'stop() ended the restarted process');
  });
});
