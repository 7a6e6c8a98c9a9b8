import type { HttpResponse } from 'uWebSockets.js';

/** A whole JSON reply, corked (one write). */
export function writeJson(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() =>
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body)),
  );
}
