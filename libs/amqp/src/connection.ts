import { connect, type AmqpConnectionManager } from 'amqp-connection-manager';

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in the broker's management UI, so operators can tell nodes apart. */
  connectionName: string;
  heartbeatSeconds?: number;
  reconnectSeconds?: number;
}

/**
 * One reconnecting connection per process. Nagle is off (amqplib defaults it on), because every
 * notification is a small latency-sensitive message.
 */
export function connectAmqp(options: AmqpConnectionOptions): AmqpConnectionManager {
  return connect([options.url], {
    heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 10,
    reconnectTimeInSeconds: options.reconnectSeconds ?? 1,
    connectionOptions: {
      noDelay: true,
      clientProperties: { connection_name: options.connectionName },
    },
  });
}

/** Resolves once connected or rejects after `timeoutMs`, for readiness checks and start-up. */
export function waitForConnection(connection: AmqpConnectionManager, timeoutMs: number): Promise<void> {
  if (connection.isConnected()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.removeListener('connect', onConnect);
      reject(new Error(`RabbitMQ not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = (): void => {
      clearTimeout(timer);
      resolve();
    };
    connection.once('connect', onConnect);
  });
}
