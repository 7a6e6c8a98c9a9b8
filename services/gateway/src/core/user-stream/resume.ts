import type { SessionState } from '@notify/store';
import type { Session } from '../sessions/session';

/**
 * Where a new connection's stream starts, from what the client asked for and what the store holds:
 * the `since` the client gave, else the device's cursor, else live only (the newest seq). Never
 * beyond the newest seq: a resume point from another database would swallow future notifications
 * as duplicates. Returns whether there is a backlog to replay before going live.
 */
export function applyResumePoint(s: Session, state: SessionState): boolean {
  s.position = Math.min(s.since ?? state.cursor ?? state.lastSeq, state.lastSeq);
  s.ackedSeq = Math.min(state.cursor ?? 0, s.position);
  // Live notifications that arrived while the state was read have raised the target already.
  s.target = Math.max(s.target, state.lastSeq);
  s.readVersion = Math.max(s.readVersion, state.readVersion);
  return s.target > s.position;
}
