import type { TemplatedApp } from 'uWebSockets.js';
import type { TlsFiles } from '@notify/config';
import type { UwsModule } from '../runtime/native-uws';

/**
 * The node's uWS app: with TLS files an SSLApp, whose port then speaks only TLS (a plain HTTP
 * request or ws:// upgrade fails its handshake), otherwise a plain App. The files were checked at
 * start (`loadTlsFiles`), since uWS itself would listen anyway and fail every handshake.
 */
export function createUwsApp(uws: UwsModule, tls: TlsFiles | undefined): TemplatedApp {
  if (!tls) return uws.App();
  return uws.SSLApp({
    cert_file_name: tls.certFile,
    key_file_name: tls.keyFile,
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    // OpenSSL's release-buffers mode: an idle socket gives back its ~34 KB of TLS read and write
    // buffers, and nearly every gateway socket is idle.
    ssl_prefer_low_memory_usage: true,
  });
}
