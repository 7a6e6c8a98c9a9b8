import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { NotificationFrame } from '@notify/protocol';
import {
  freePort,
  makeTestCertificate,
  opensslAvailable,
  request,
  runToExit,
  signToken,
  spawnService,
  startCluster,
  TestClient,
  tlsEnv,
  type TestCertificate,
  type TestCluster,
  waitReady,
} from '@notify/testing';

const NO_OPENSSL = opensslAvailable() ? false : 'openssl is not installed (.ci/run installs it)';

/** What a plain-HTTP client gets from a port: its status, or the error that ended the exchange. */
async function plainAnswer(url: string): Promise<string> {
  return request(url).then(
    (res) => `HTTP ${res.status} ${res.text.slice(0, 60)}`,
    (err: Error) => `failed: ${err.message}`,
  );
}

/** The certificate's key, encrypted with `passphrase` (AES-256), beside it. */
function encryptKey(cert: TestCertificate, passphrase: string): string {
  const encrypted = join(cert.keyFile, '..', 'encrypted-key.pem');
  const made = spawnSync('openssl', [
    'pkey',
    '-in',
    cert.keyFile,
    '-aes256',
    '-passout',
    `pass:${passphrase}`,
    '-out',
    encrypted,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  return encrypted;
}

describe('TLS: both services serve only HTTPS/WSS when given a certificate', { skip: NO_OPENSSL }, () => {
  let cert: TestCertificate;
  let cluster: TestCluster;
  before(async () => {
    cert = makeTestCertificate();
    cluster = await startCluster({ gateways: 1, tls: cert });
  });
  after(async () => {
    await cluster?.stop();
    cert?.remove();
  });

  it('a wss:// client receives a notification POSTed over https://', async () => {
    assert.match(cluster.ingestUrl, /^https:/);
    assert.match(cluster.wsUrl(0, ''), /^wss:/);
    const client = await TestClient.connect(
      cluster.wsUrl(0, 'device=tls-1'),
      { authorization: `Bearer ${await signToken('tls-user')}` },
      cert.ca,
    );
    await client.next('ready');
    const res = await cluster.post({ userId: 'tls-user', topic: 'tls.check', title: 'over TLS' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const frame: NotificationFrame = await client.next('notification');
    assert.equal(frame.title, 'over TLS');
    await client.close();
  });

  it('serves no plain HTTP: http:// and ws:// to the same ports fail', async () => {
    for (const service of [cluster.ingest, ...cluster.gateways]) {
      const answer = await plainAnswer(`http://127.0.0.1:${service.port}/healthz`);
      assert.match(answer, /^failed: /, `${service.name} answered plain HTTP: ${answer}`);
      // The same path over HTTPS does answer, so the failure above is the scheme, not the route.
      const tls = await request(`${service.url}/healthz`, { ca: cert.ca });
      assert.equal(tls.status, 200, `${service.name}: ${tls.text}`);
    }
    const plainWs = cluster.wsUrl(0, 'device=plain').replace(/^wss:/, 'ws:');
    await assert.rejects(
      TestClient.connect(plainWs, { authorization: `Bearer ${await signToken('tls-user')}` }),
      (err: Error) => !/upgrade rejected/.test(err.message),
      'a ws:// upgrade must fail at the connection, not be answered over plain HTTP',
    );
  });

  it('a gateway whose key is encrypted serves wss:// with NOTIFY_TLS_KEY_PASSPHRASE', async () => {
    const port = await freePort();
    const gateway = spawnService(
      'gateway',
      port,
      {
        ...cluster.env,
        NOTIFY_GATEWAY_PORT: String(port),
        NOTIFY_NODE_ID: `${cluster.nodeId(0)}-encrypted`,
        NOTIFY_TLS_KEY_FILE: encryptKey(cert, 'gateway-passphrase'),
        NOTIFY_TLS_KEY_PASSPHRASE: 'gateway-passphrase',
      },
      { tls: cert },
    );
    try {
      await waitReady(gateway);
      const client = await TestClient.connect(
        `wss://127.0.0.1:${port}/v1/ws?device=encrypted`,
        { authorization: `Bearer ${await signToken('tls-user')}` },
        cert.ca,
      );
      assert.equal((await client.next('ready')).node, `${cluster.nodeId(0)}-encrypted`);
      await client.close();
    } finally {
      await gateway.stop('SIGKILL');
    }
  });

  it('a client that does not trust the certificate is refused by its own TLS check', async () => {
    await assert.rejects(request(`${cluster.ingestUrl}/healthz`), /self-signed certificate/);
  });
});

describe('TLS: a bad certificate configuration stops the service with one line', { skip: NO_OPENSSL }, () => {
  let cert: TestCertificate;
  let other: TestCertificate;
  before(() => {
    cert = makeTestCertificate();
    other = makeTestCertificate();
  });
  after(() => {
    cert?.remove();
    other?.remove();
  });

  const cases: [string, () => Record<string, string>, RegExp][] = [
    [
      'a certificate without a key',
      () => ({ NOTIFY_TLS_CERT_FILE: cert.certFile }),
      /^invalid configuration: NOTIFY_TLS_KEY_FILE is required with NOTIFY_TLS_CERT_FILE$/,
    ],
    [
      'a file that does not exist',
      () => ({ ...tlsEnv(cert), NOTIFY_TLS_CERT_FILE: join(cert.certFile, '..', 'missing.pem') }),
      /^invalid configuration: NOTIFY_TLS_CERT_FILE names a file that cannot be read \(.*missing\.pem: ENOENT\)$/,
    ],
    [
      'a certificate where the key should be',
      () => ({ ...tlsEnv(cert), NOTIFY_TLS_KEY_FILE: cert.certFile }),
      /^invalid configuration: NOTIFY_TLS_KEY_FILE must be a PEM private key \(.*cert\.pem is not one\)$/,
    ],
    [
      'the key of another certificate',
      () => ({ ...tlsEnv(cert), NOTIFY_TLS_KEY_FILE: other.keyFile }),
      /^invalid configuration: NOTIFY_TLS_KEY_FILE \(.*key\.pem\) is not the key of the certificate in .*cert\.pem$/,
    ],
  ];
  for (const name of ['ingest', 'gateway'] as const) {
    for (const [what, env, expected] of cases) {
      it(`${name} with ${what} exits 1`, async () => {
        const { code, output } = await runToExit(name, env());
        assert.equal(code, 1, output);
        assert.equal(output.split('\n').length, 1, output);
        assert.match(output, expected);
      });
    }
  }

  it('an encrypted key needs NOTIFY_TLS_KEY_PASSPHRASE, and the right one', async () => {
    const env = { ...tlsEnv(cert), NOTIFY_TLS_KEY_FILE: encryptKey(cert, 'right-passphrase') };
    for (const [passphrase, expected] of [
      [undefined, /NOTIFY_TLS_KEY_PASSPHRASE is required: .*encrypted-key\.pem is encrypted$/],
      ['wrong', /NOTIFY_TLS_KEY_PASSPHRASE does not decrypt .*encrypted-key\.pem$/],
    ] as const) {
      const { code, output } = await runToExit('gateway', {
        ...env,
        ...(passphrase ? { NOTIFY_TLS_KEY_PASSPHRASE: passphrase } : {}),
      });
      assert.equal(code, 1, output);
      assert.match(output, expected);
    }
  });
});
