import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvReader } from './env-reader';
import { loadTlsFiles } from './tls';

// Certificates that parse, and keys that match them, are covered by test/e2e/tls.test.ts, which makes
// them with openssl; these are the cases that need no certificate.
describe('loadTlsFiles', () => {
  const load = (env: Record<string, string>) => () => loadTlsFiles(new EnvReader(env));

  it('leaves TLS off when neither file is named', () => {
    assert.equal(loadTlsFiles(new EnvReader({})), undefined);
  });

  it('wants both files or neither, and a passphrase only with a key', () => {
    assert.throws(
      load({ NOTIFY_TLS_CERT_FILE: '/c.pem' }),
      /NOTIFY_TLS_KEY_FILE is required with NOTIFY_TLS_CERT_FILE/,
    );
    assert.throws(
      load({ NOTIFY_TLS_KEY_FILE: '/k.pem' }),
      /NOTIFY_TLS_CERT_FILE is required with NOTIFY_TLS_KEY_FILE/,
    );
    assert.throws(
      load({ NOTIFY_TLS_KEY_PASSPHRASE: 'x' }),
      /NOTIFY_TLS_KEY_PASSPHRASE is set, but NOTIFY_TLS_KEY_FILE is not/,
    );
  });

  it('names the unreadable file, and refuses files that are not PEM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-tls-spec-'));
    try {
      const text = join(dir, 'not-pem.txt');
      writeFileSync(text, 'hello');
      assert.throws(
        load({ NOTIFY_TLS_CERT_FILE: join(dir, 'missing.pem'), NOTIFY_TLS_KEY_FILE: text }),
        /NOTIFY_TLS_CERT_FILE names a file that cannot be read \(.*missing\.pem: ENOENT\)/,
      );
      assert.throws(
        load({ NOTIFY_TLS_CERT_FILE: text, NOTIFY_TLS_KEY_FILE: text }),
        /NOTIFY_TLS_CERT_FILE must be a PEM certificate/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
