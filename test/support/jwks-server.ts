import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A key pair for signing test tokens, and its public JWK as a JWKS would publish it. */
export interface TestSigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function testSigningKey(kid: string, alg = 'RS256'): Promise<TestSigningKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' },
  };
}

export function signWith(
  key: TestSigningKey,
  claims: Record<string, unknown> & { sub?: string },
  options: { kid?: string | null; expiresInSeconds?: number } = {},
): Promise<string> {
  const kid = options.kid === undefined ? key.kid : options.kid;
  const jwt = new SignJWT(claims)
    .setProtectedHeader(kid === null ? { alg: key.alg } : { alg: key.alg, kid })
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 300));
  return jwt.sign(key.privateKey);
}

/**
 * A JWKS endpoint on 127.0.0.1: serves whatever `keys` holds at each request (change it to rotate),
 * counts requests, and can answer an error status or a Cache-Control header.
 */
export class TestJwksServer {
  keys: JWK[] = [];
  requests = 0;
  status = 200;
  cacheControl: string | undefined;
  private server: Server | null = null;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((_req, res) => {
      this.requests++;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.cacheControl) headers['cache-control'] = this.cacheControl;
      res.writeHead(this.status, headers).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    const bound = (this.server.address() as { port: number }).port;
    this.url = `http://127.0.0.1:${bound}/.well-known/jwks.json`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
