import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EXIT_WITH_PARENT, LAUNCHED_STDIO } from '../support/processes';

/** Running, and not a zombie waiting for a reaper (a container's PID 1 may never reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

const firstLine = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`launcher exited ${code}: ${out}`)));
  });

// Runs until a signal ends it; SIGTERM, which the watcher sends, ends it cleanly.
const FOREVER = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);";

describe('scripts/exit-with-parent.cjs (what tests, benchmarks and npm start launch with)', () => {
  it('stops a launched process once its launcher is killed outright', async () => {
    const launcher = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn } = require('node:child_process');
         const child = spawn(process.execPath, [...${JSON.stringify(EXIT_WITH_PARENT)}, '-e', ${JSON.stringify(FOREVER)}],
           { stdio: ${JSON.stringify(LAUNCHED_STDIO)} });
         console.log(child.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = Number(await firstLine(launcher));
    try {
      assert.ok(await until(() => running(pid), 2_000), 'the launched process runs');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(running(pid), 'and keeps running while its launcher lives');
      launcher.kill('SIGKILL');
      assert.ok(await until(() => !running(pid), 5_000), 'it stops once the launcher is gone');
    } finally {
      launcher.kill('SIGKILL');
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('does not keep a process alive that has finished its work', async () => {
    const child = spawn(process.execPath, [...EXIT_WITH_PARENT, '-e', 'setTimeout(() => {}, 50)'], {
      stdio: LAUNCHED_STDIO,
    });
    const code = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 5 s'), 5_000)),
    ]);
    child.kill('SIGKILL');
    assert.equal(code, 0);
  });
});
