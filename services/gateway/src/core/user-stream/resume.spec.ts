import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionState } from '@notify/store';
import { newSession, type ClientPort, type Session } from '../sessions/session';
import { applyResumePoint } from './resume';

const session = (since: number | null): Session =>
  newSession({ userId: 'u', deviceId: 'd', expiresAt: 0, channels: [], since }, {} as ClientPort, 10);
const state = (lastSeq: number, cursor: number | null, readVersion = 0): SessionState => ({
  lastSeq,
  unread: 0,
  readVersion,
  cursor,
  connectionsElsewhere: 0,
  preferences: null,
  preferencesVersion: 0,
});

describe('applyResumePoint', () => {
  it('starts after the since the client gave, else the device cursor, else live only', () => {
    const withSince = session(3);
    assert.equal(applyResumePoint(withSince, state(10, 7)), true);
    assert.deepEqual([withSince.position, withSince.ackedSeq, withSince.target], [3, 3, 10]);

    const withCursor = session(null);
    assert.equal(applyResumePoint(withCursor, state(10, 7)), true);
    assert.deepEqual([withCursor.position, withCursor.ackedSeq], [7, 7]);

    const newDevice = session(null);
    assert.equal(applyResumePoint(newDevice, state(10, null)), false, 'live only: nothing to replay');
    assert.deepEqual([newDevice.position, newDevice.ackedSeq], [10, 0]);
  });

  it('never resumes beyond the newest seq (a resume point from another database)', () => {
    const s = session(50);
    assert.equal(applyResumePoint(s, state(10, 60)), false);
    assert.deepEqual([s.position, s.ackedSeq], [10, 10]);
  });

  it('keeps a target raised by live traffic while the state was read, and the newest read version', () => {
    const s = session(null);
    s.target = 12;
    s.readVersion = 5;
    assert.equal(applyResumePoint(s, state(10, 10, 3)), true, 'live 11..12 arrived: replay them');
    assert.deepEqual([s.position, s.target, s.readVersion], [10, 12, 5]);
  });

  it('a since of 0 replays everything', () => {
    const s = session(0);
    assert.equal(applyResumePoint(s, state(4, 2)), true);
    assert.deepEqual([s.position, s.ackedSeq], [0, 0]);
  });
});
