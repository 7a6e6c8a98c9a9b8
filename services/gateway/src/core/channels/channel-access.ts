/**
 * Channel authorization (docs/protocol.md): anyone may read `public.*`; otherwise the token's `channels`
 * claim must name the channel exactly or grant a prefix with `prefix.*`, which covers every channel
 * below that prefix (`team.*` allows `team.42` and `team.42.ops`, not `team`).
 */
export function mayAccessChannel(grants: readonly string[], channel: string): boolean {
  if (channel.startsWith('public.')) return true;
  for (const grant of grants) {
    if (grant === channel) return true;
    if (grant.endsWith('.*') && channel.startsWith(grant.slice(0, -1))) return true;
  }
  return false;
}
