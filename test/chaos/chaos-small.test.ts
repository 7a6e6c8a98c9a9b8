import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chaosFailures, formatReport, runChaos } from './chaos-run';

/*
 * The small chaos run of `npm test` (the big one is `npm run chaos`). It restarts the shared RabbitMQ,
 * so it must not run alongside other test files: scripts/run-tests.mjs runs test/chaos after the rest.
 * NOTIFY_CHAOS_SEED=<n> replays a run's random choices (victims, cut times, targets); NOTIFY_CHAOS_VERBOSE=1
 * prints its progress; NOTIFY_CHAOS_LOGS=<dir> keeps every process's output and HAProxy's traffic log.
 */
const seed = Number(process.env.NOTIFY_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Self-check of the checks: NOTIFY_CHAOS_FAULT=drop-frame (or duplicate-frame) must make this test fail. */
const fault =
  process.env.NOTIFY_CHAOS_FAULT === 'drop-frame' || process.env.NOTIFY_CHAOS_FAULT === 'duplicate-frame'
    ? process.env.NOTIFY_CHAOS_FAULT
    : 'none';

/**
 * The run also restarts the local PostgreSQL (`pg_ctlcluster <version> main restart`, or the shell
 * command in NOTIFY_TEST_PG_RESTART); NOTIFY_CHAOS_PG_RESTART=0 leaves it out.
 */
const postgresRestart = process.env.NOTIFY_CHAOS_PG_RESTART !== '0';

describe('chaos: 3 gateways behind HAProxy, 2 gateway kills, RabbitMQ and PostgreSQL restarts, an ingest kill, cut connections', () => {
  it(
    'loses, reorders and duplicates nothing, and every device cursor ends at its user’s last seq',
    { timeout: 150_000 },
    async (t) => {
      const report = await runChaos({
        users: 40,
        devicesPerUser: 3,
        notifications: 1500,
        ratePerSecond: 120,
        durationMs: 110_000,
        seed,
        fault,
        postgresRestart,
        logsDir: process.env.NOTIFY_CHAOS_LOGS || undefined,
        log: process.env.NOTIFY_CHAOS_VERBOSE ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
      const table = formatReport(report);
      for (const line of table.split('\n')) t.diagnostic(line);

      assert.deepEqual(report.errors, [], `the run did not complete\n${table}`);
      assert.equal(report.lost, 0, `lost notifications\n${table}`);
      assert.equal(report.outOfOrder, 0, `out-of-order notifications\n${table}`);
      assert.equal(report.gaps, 0, `gaps within a connection\n${table}`);
      assert.equal(report.duplicates, 0, `duplicates within a connection\n${table}`);
      assert.equal(report.cursorMismatches, 0, `device cursors not at their user's last seq\n${table}`);
      assert.equal(report.stored, report.accepted, `stored ≠ accepted\n${table}`);
      assert.ok(report.redelivered > 0, `devices resuming from their cursor got redeliveries\n${table}`);
      assert.deepEqual(chaosFailures(report), [], table);
    },
  );
});
