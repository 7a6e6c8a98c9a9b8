import { coalesceAmqplibWrites, DeliveryHeader, userRoutingKey } from '@notify/amqp';
import { JwtVerifier } from '@notify/auth';
import { loadConfigOrExit, redact } from '@notify/config';
import { JsonLogger } from '@notify/logging';
import {
  PUSHER_CLIENT_EVENT_KIND,
  PUSHER_SOCKET_HEADER,
  PUSHER_TERMINATE_KIND,
  PusherApps,
} from '@notify/pusher';
import {
  ChannelOccupancyRepository,
  ChannelsRepository,
  createDatabase,
  CursorsRepository,
  InboxRepository,
  migrateDatabase,
  NotificationsRepository,
  pingDatabase,
  PreferencesRepository,
  ReceiptsRepository,
  PresenceRepository,
  UserConnectionsRepository,
} from '@notify/store';
import { BrokerBindings } from './broker/bindings';
import { BrokerDispatch, type DeliveryHandler } from './broker/dispatch';
import { BrokerPusher } from './broker/pusher-broker';
import { BrokerPusherWebhooks } from './broker/webhook-publisher';
import { NodeQueue } from './broker/node-queue';
import { BrokerPresenceBus } from './broker/presence-bus';
import { loadGatewayConfig } from './config/gateway.config';
import { CHANNEL_OCCUPANCY_FLUSH_MS, ChannelOccupancy } from './core/channels/channel-occupancy';
import { ChannelFanout } from './core/channels/channel-fanout';
import { ChannelSubscriptions } from './core/channels/channel-subscriptions';
import { Inbox } from './core/inbox/inbox';
import { UserPreferences } from './core/inbox/user-preferences';
import { Presence, PRESENCE_FRAME_WINDOW_MS } from './core/presence/presence';
import { ConnectionIds } from './core/sessions/connection-ids';
import { SessionLifecycle } from './core/sessions/session-lifecycle';
import { SessionRegistry } from './core/sessions/session-registry';
import { USER_CONNECTIONS_FLUSH_MS, UserConnections } from './core/sessions/user-connections';
import { Acks } from './core/user-stream/acks';
import { CursorWriter } from './core/user-stream/cursor-writer';
import { ReceiptWriter } from './core/user-stream/receipt-writer';
import { SessionReads } from './core/user-stream/session-reads';
import { UserDelivery } from './core/user-stream/user-delivery';
import { serveHttpRoutes } from './http/routes';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { PusherMetrics } from './metrics/pusher-metrics';
import { PusherChannelOutput } from './protocols/pusher/channel-output';
import { PusherProtocol } from './protocols/pusher/pusher-protocol';
import { PusherSessions } from './protocols/pusher/pusher-sessions';
import { PusherSocketIndex } from './protocols/pusher/socket-index';
import { V1ChannelOutput } from './protocols/v1/channel-output';
import { PusherPresenceOutput } from './protocols/pusher/presence-output';
import { V1PresenceOutput } from './protocols/v1/presence-output';
import { V1Protocol } from './protocols/v1/v1-protocol';
import { BurstCompaction, exposedGc } from './runtime/burst-compaction';
import { loadNativeUws, NativeUwsUnavailableError, type UwsModule } from './runtime/native-uws';
import { SocketWriter } from './transport/socket-writer';
import { createUwsApp } from './transport/uws-app';
import { UwsServer } from './transport/uws-server';

function loadUwsOrExit(): { uws: UwsModule; binary: string } {
  try {
    return loadNativeUws();
  } catch (err) {
    if (!(err instanceof NativeUwsUnavailableError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

/** Composition root: wires the gateway's parts by hand (no DI container on the message path). */
async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadGatewayConfig());
  const { uws, binary } = loadUwsOrExit();
  const log = new JsonLogger('gateway', { node: config.nodeId });
  if (!coalesceAmqplibWrites()) log.warn('amqplib internals changed: broker writes are not coalesced');
  const { db } = createDatabase({
    url: config.databaseUrl,
    poolSize: config.dbPoolSize,
    applicationName: 'notify-gateway',
  });
  if (config.migrateOnStart) await migrateDatabase(config.databaseUrl);

  const metrics = new GatewayMetrics();
  const compaction = new BurstCompaction(exposedGc());
  if (!compaction.available)
    log.warn('started without --expose-gc: the garbage of connection bursts stays until V8 collects it');

  // Broker: the node queue and the bindings the core asks for.
  const nodeQueue = new NodeQueue({
    amqpUrl: config.amqpUrl,
    nodeId: config.nodeId,
    unbindLingerMs: config.unbindLingerMs,
    log,
  });
  const bindings = new BrokerBindings(nodeQueue, config.nodeId);

  // Transport: the uWS app and the one send path.
  const app = createUwsApp(uws, config.tls);
  const writer = new SocketWriter(app, config.maxBackpressureBytes, metrics);

  // Core: sessions, user streams, channels, read state.
  const registry = new SessionRegistry();
  const ids = new ConnectionIds();
  // Subscriber counts of Pusher channels, for ingest's channel queries (written only with apps).
  const occupancy = config.pusher.apps.length
    ? new ChannelOccupancy(new ChannelOccupancyRepository(db), config.nodeId, CHANNEL_OCCUPANCY_FLUSH_MS, log)
    : undefined;
  const userConnections = new UserConnections(
    new UserConnectionsRepository(db),
    ids,
    () => registry.all(),
    {
      nodeId: config.nodeId,
      nodeTtlMs: config.nodeTtlMs,
      flushMs: USER_CONNECTIONS_FLUSH_MS,
      onRevived: () => occupancy?.revived(),
    },
    log,
  );
  const reads = new SessionReads(new NotificationsRepository(db), {
    nodeId: config.nodeId,
    nodeTtlMs: config.nodeTtlMs,
  });
  const cursorWriter = new CursorWriter(new CursorsRepository(db), config.ackFlushMs, log);
  const receiptWriter = new ReceiptWriter(new ReceiptsRepository(db), config.receiptFlushMs, log);
  const delivery = new UserDelivery(reads, receiptWriter, metrics, log);
  const channelsRepository = new ChannelsRepository(db);
  // Pusher connections (docs/pusher.md) share the channels; their frames are built by their own output.
  const pusherApps = new PusherApps(config.pusher.apps);
  const pusherSockets = new PusherSocketIndex();
  const pusherOutput = new PusherChannelOutput(writer, pusherSockets);
  const fanout = new ChannelFanout(
    pusherApps.enabled ? [new V1ChannelOutput(writer), pusherOutput] : [new V1ChannelOutput(writer)],
    channelsRepository,
    bindings,
    metrics,
    log,
  );
  // Presence: one output per protocol.
  const pusherPresence = new PusherPresenceOutput(writer);
  const presence = new Presence(
    pusherApps.enabled ? [new V1PresenceOutput(writer), pusherPresence] : [new V1PresenceOutput(writer)],
    new PresenceRepository(db),
    new BrokerPresenceBus(nodeQueue, log),
    bindings,
    {
      nodeId: config.nodeId,
      maxMembers: config.presenceMaxMembers,
      ttlMs: config.presenceTtlMs,
      frameWindowMs: PRESENCE_FRAME_WINDOW_MS,
    },
    log,
  );
  const channels = new ChannelSubscriptions(
    fanout,
    channelsRepository,
    config.maxSubscriptions,
    presence,
    log,
  );
  const inbox = new Inbox(new InboxRepository(db), bindings, registry, log);
  const preferences = new UserPreferences(new PreferencesRepository(db), bindings, registry, log);
  const lifecycle = new SessionLifecycle(
    config.nodeId,
    config,
    registry,
    ids,
    userConnections,
    bindings,
    reads,
    delivery,
    channels,
    fanout,
    metrics,
    log,
  );

  // Protocols on the transport, and the node's HTTP routes. JWKS keys are fetched ahead: the node
  // is not ready until they are loaded, and retries until then.
  const verifier = new JwtVerifier({
    secret: config.jwtSecret,
    jwks: config.jwksUrl
      ? {
          url: config.jwksUrl,
          refreshSeconds: config.jwksRefreshSeconds,
          minRefetchSeconds: config.jwksMinRefetchSeconds,
          onLoaded: (keys) => log.info('jwks loaded', { keys }),
          onFailed: (reason) => log.warn('jwks fetch failed', { reason }),
        }
      : undefined,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
  verifier.start();
  const v1 = new V1Protocol(
    writer,
    { acks: new Acks(cursorWriter, receiptWriter, metrics), channels, inbox, preferences },
    verifier,
    config.allowedOrigins,
  );
  const server = new UwsServer(app, uws, config, lifecycle, compaction, metrics, log);
  server.serve({ path: '/v1/ws', protocol: v1 });
  const pusherBroker = new BrokerPusher(nodeQueue);
  const pusherWebhooks =
    pusherApps.enabled && config.pusher.webhooks ? new BrokerPusherWebhooks(nodeQueue, log) : null;
  const pusherMetrics = new PusherMetrics(metrics.registry);
  const pusherSessions = new PusherSessions(
    pusherSockets,
    { ...config, ...config.pusher },
    channels,
    pusherBroker,
    pusherMetrics,
    log,
  );
  if (pusherApps.enabled) {
    const pusher = new PusherProtocol(
      pusherApps,
      { wire: writer, metrics: pusherMetrics, occupancy, presence: pusherPresence, webhooks: pusherWebhooks },
      pusherSessions,
      channels,
      pusherBroker,
      { allowedOrigins: config.allowedOrigins, ...config.pusher },
      log,
    );
    server.serve({ path: '/app/*', protocol: pusher, sessions: pusherSessions });
  }
  serveHttpRoutes(app, {
    nodeId: config.nodeId,
    metrics,
    dependenciesReady: async () => ({
      rabbitmq: nodeQueue.connected,
      postgres: await pingDatabase(db),
      tokenKeys: verifier.ready,
    }),
    draining: () => server.draining,
    beforeScrape: () => {
      metrics.bindings.set(nodeQueue.boundKeys);
      metrics.sendBufferBytes.set(
        writer.bufferedBytes(registry.all()) + writer.bufferedBytes(pusherSockets.sessions()),
      );
      metrics.channels.set(fanout.activeChannels);
    },
  });

  // Before listening: rows an earlier process with this node id left behind are gone first.
  await userConnections.start();
  await occupancy?.start();
  await presence.start();
  const port = await server.listen();
  log.info('listening', {
    port,
    tls: config.tls !== undefined,
    uws: binary.split(/[\\/]/).pop(),
    amqp: redact(config.amqpUrl),
    queue: nodeQueue.queueName,
  });
  const pusherKinds = new Map<string, DeliveryHandler>([
    [
      PUSHER_CLIENT_EVENT_KIND,
      (_key, headers, body) =>
        pusherOutput.relayClientEvent(
          String(headers[DeliveryHeader.channel]),
          body,
          String(headers[PUSHER_SOCKET_HEADER] ?? ''),
        ),
    ],
    [PUSHER_TERMINATE_KIND, (key) => pusherSessions.terminate(key)],
  ]);
  const dispatch = new BrokerDispatch(
    registry,
    delivery,
    fanout,
    inbox,
    preferences,
    config.nodeId,
    presence,
    metrics,
    log,
    pusherKinds,
  );
  await nodeQueue.start({
    onMessage: (message) => dispatch.message(message),
    onResync: () => {
      lifecycle.resyncAll();
      presence.reconnected();
    },
    // Each local user's key, held by the user's first socket (SessionLifecycle.opened).
    *heldKeys() {
      for (const userId of registry.userIds()) yield userRoutingKey(userId);
    },
  });
  log.info('node queue consuming', { queue: nodeQueue.queueName });
  pusherWebhooks?.start();
  compaction.started(Date.now());

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('draining', { signal, connections: registry.size });
    server.drain(config.drainMs);
    verifier.stop();
    await cursorWriter.close();
    await receiptWriter.close();
    await userConnections.stop().catch(() => undefined);
    await occupancy?.stop().catch(() => undefined);
    await presence.stop().catch(() => undefined);
    await pusherWebhooks?.close().catch(() => undefined);
    await nodeQueue.close().catch(() => undefined);
    await db.destroy();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
