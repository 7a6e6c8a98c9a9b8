/**
 * Polls `check` every `pollMs` until it holds; throws naming `what` after `timeoutMs`. For conditions
 * that come true in their own time (a reconnect, a redelivery, a flush), never a fixed sleep.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  pollMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
