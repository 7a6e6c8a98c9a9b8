import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';
import type { EnvReader } from './env-reader';

export const TLS_CERT_VARIABLE = 'NOTIFY_TLS_CERT_FILE';
export const TLS_KEY_VARIABLE = 'NOTIFY_TLS_KEY_FILE';
export const TLS_PASSPHRASE_VARIABLE = 'NOTIFY_TLS_KEY_PASSPHRASE';

/**
 * A certificate and key a service serves HTTPS/WSS with, already read and checked. The paths are kept
 * for servers that load the files themselves (uWS' SSLApp), the contents for those that take PEM
 * (node:https).
 */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  passphrase?: string;
}

/**
 * `NOTIFY_TLS_CERT_FILE` and `NOTIFY_TLS_KEY_FILE`: both set turns TLS on, neither leaves plain HTTP.
 * Everything a server would otherwise find out later, or never (uWS serves a listen socket whose
 * every handshake fails), is checked here: files readable, PEM that parses, a key that belongs to the
 * certificate.
 */
export function loadTlsFiles(env: EnvReader): TlsFiles | undefined {
  const certFile = env.optionalString(TLS_CERT_VARIABLE);
  const keyFile = env.optionalString(TLS_KEY_VARIABLE);
  const passphrase = env.optionalString(TLS_PASSPHRASE_VARIABLE);
  if (certFile === undefined && keyFile === undefined) {
    if (passphrase !== undefined) {
      throw new ConfigError(TLS_PASSPHRASE_VARIABLE, `is set, but ${TLS_KEY_VARIABLE} is not`);
    }
    return undefined;
  }
  if (certFile === undefined)
    throw new ConfigError(TLS_CERT_VARIABLE, `is required with ${TLS_KEY_VARIABLE}`);
  if (keyFile === undefined) throw new ConfigError(TLS_KEY_VARIABLE, `is required with ${TLS_CERT_VARIABLE}`);
  const cert = readPem(TLS_CERT_VARIABLE, certFile);
  const key = readPem(TLS_KEY_VARIABLE, keyFile);
  const certificate = parseCertificate(certFile, cert);
  const privateKey = parseKey(keyFile, key, passphrase);
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(TLS_KEY_VARIABLE, `(${keyFile}) is not the key of the certificate in ${certFile}`);
  }
  return { certFile, keyFile, cert, key, ...(passphrase === undefined ? {} : { passphrase }) };
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(variable, `names a file that cannot be read (${file}: ${code})`);
  }
}

function parseCertificate(file: string, pem: Buffer): X509Certificate {
  // X509Certificate also takes DER, which the servers (uWS in particular) would not load.
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(TLS_CERT_VARIABLE, `must be a PEM certificate (${file} is not one)`);
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(TLS_CERT_VARIABLE, `must be a PEM certificate (${file} is not one)`);
  }
}

function parseKey(file: string, pem: Buffer, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) });
  } catch {
    // PKCS#8 ("ENCRYPTED PRIVATE KEY") and legacy ("Proc-Type: 4,ENCRYPTED") encrypted PEM.
    if (/ENCRYPTED/.test(pem.toString('latin1'))) {
      throw new ConfigError(
        TLS_PASSPHRASE_VARIABLE,
        passphrase === undefined ? `is required: ${file} is encrypted` : `does not decrypt ${file}`,
      );
    }
    throw new ConfigError(TLS_KEY_VARIABLE, `must be a PEM private key (${file} is not one)`);
  }
}
