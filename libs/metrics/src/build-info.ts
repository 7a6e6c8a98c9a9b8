import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The release of this build: the `version` of the repository's package.json, found by walking up
 * from this file (in the source tree, in dist/ and in the container image alike), or 'unknown'.
 */
function releaseVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'notify' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // not ours or not readable: keep walking
      }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/** What `notify_build_info` reports: the release of this build and the Node.js it runs on. */
export const BUILD_INFO = { version: releaseVersion(), node: process.version } as const;
