import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate for 127.0.0.1 made by openssl, which is also its own CA. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate's PEM: what clients trust. */
  ca: Buffer;
  remove(): void;
}

/** The environment that turns TLS on in a service. */
export function tlsEnv(cert: TestCertificate): Record<string, string> {
  return { NOTIFY_TLS_CERT_FILE: cert.certFile, NOTIFY_TLS_KEY_FILE: cert.keyFile };
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Makes a P-256 certificate valid for a day, with 127.0.0.1 as its IP SAN, in a temp dir of its own. */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'notify-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.error?.message ?? made.stderr}`);
  return {
    certFile,
    keyFile,
    ca: readFileSync(certFile),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP or HTTPS request (by the URL's scheme), trusting `ca` for HTTPS. Global fetch cannot be
 * given a CA without undici's own Agent, which is not a dependency.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: Buffer } = {},
): Promise<HttpAnswer> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url, // agent: false, so that no kept-alive socket outlives the test or reaches an older process.
      { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`${url}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
