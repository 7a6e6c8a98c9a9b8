/** A client frame as Pusher protocol 7 defines it, checked for shape only. */
export interface PusherClientFrame {
  event: string;
  channel?: string;
  data?: unknown;
}

/** The frame, or why it is not one. */
export function decodePusherFrame(
  bytes: ArrayBuffer,
): { ok: true; frame: PusherClientFrame } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { ok: false, reason: 'frame is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'frame is not a JSON object' };
  const v = value as Record<string, unknown>;
  if (typeof v.event !== 'string') return { ok: false, reason: 'event must be a string' };
  if (v.channel !== undefined && typeof v.channel !== 'string')
    return { ok: false, reason: 'channel must be a string' };
  return { ok: true, frame: { event: v.event, channel: v.channel, data: v.data } };
}

/**
 * `data` of pusher:subscribe and pusher:signin: an object, or (as some clients send it) that object
 * JSON-encoded in a string. Returns null when it is neither.
 */
export function dataObject(data: unknown): Record<string, unknown> | null {
  let v = data;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
