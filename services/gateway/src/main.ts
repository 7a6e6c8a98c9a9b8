import { coalesceAmqplibWrites, userRoutingKey } from '@notify/amqp';
import { JwtVerifier } from '@notify/auth';
import { loadConfigOrExit, redact } from '@notify/config';
import { JsonLogger } from '@notify/logging';
import {
  createDatabase,
  CursorsRepository,
  migrateToLatest,
  InboxRepository,
  NotificationsRepository,
  ChannelsRepository,
  pingDatabase,
} from '@notify/store';
import { loadGatewayConfig } from './config/gateway.config';
import { CursorWriter } from './delivery/cursor-writer';
import { NodeQueue } from './delivery/node-queue';
import { SessionReads } from './delivery/session-reads';
import { BurstCompaction, exposedGc } from './runtime/burst-compaction';
import { UserDelivery } from './delivery/user-delivery';
import { GatewayMetrics } from './http/metrics';
import { loadNativeUws, NativeUwsUnavailableError, type UwsModule } from './runtime/native-uws';
import { SessionRegistry } from './session/session-registry';
import { ClientFrames } from './ws/client-frames';
import { FrameSender } from './ws/frame-sender';
import { InboxFrames } from './ws/inbox-frames';
import { ChannelFanout } from './channels/channel-fanout';
import { ChannelFrames } from './channels/channel-frames';
import { GatewayServer } from './ws/gateway-server';

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
  if (config.migrateOnStart) await migrateToLatest(db);

  const metrics = new GatewayMetrics();
  const registry = new SessionRegistry();
  const notifications = new NotificationsRepository(db);
  const cursors = new CursorsRepository(db);
  const cursorWriter = new CursorWriter(cursors, config.ackFlushMs, log);
  const sender = new FrameSender(config.maxBackpressureBytes, () => metrics.slowConsumerCloses.inc());
  const reads = new SessionReads(notifications);
  const compaction = new BurstCompaction(exposedGc());
  if (!compaction.available)
    log.warn('started without --expose-gc: the garbage of connection bursts stays until V8 collects it');
  const delivery = new UserDelivery(reads, sender, metrics, log);
  let server: GatewayServer | null = null;
  const nodeQueue = new NodeQueue({
    amqpUrl: config.amqpUrl,
    nodeId: config.nodeId,
    unbindLingerMs: config.unbindLingerMs,
    log,
    onMessage: (message) => server?.dispatch(message),
    onResync: () => server?.resyncAll(),
    // Each local user's key, held by the user's first socket (GatewayServer.start).
    *heldKeys() {
      for (const userId of registry.userIds()) yield userRoutingKey(userId);
    },
  });
  const inbox = new InboxFrames(new InboxRepository(db), nodeQueue, registry, sender, log);
  const app = uws.App();
  const channels = new ChannelsRepository(db);
  const fanout = new ChannelFanout(app, channels, nodeQueue, metrics, log);
  const channelFrames = new ChannelFrames(fanout, channels, sender, config.maxSubscriptions, log);
  server = new GatewayServer(
    {
      config,
      uws,
      verifier: new JwtVerifier({ secret: config.jwtSecret, jwksUrl: config.jwksUrl }),
      registry,
      nodeQueue,
      delivery,
      frames: new ClientFrames(cursorWriter, inbox, channelFrames, sender, metrics),
      sender,
      inbox,
      fanout,
      channelFrames,
      reads,
      compaction,
      metrics,
      log,
      dependenciesReady: async () => ({ rabbitmq: nodeQueue.connected, postgres: await pingDatabase(db) }),
    },
    app,
  );

  const port = await server.listen();
  log.info('listening', {
    port,
    uws: binary.split(/[\\/]/).pop(),
    amqp: redact(config.amqpUrl),
    queue: nodeQueue.queueName,
  });
  await nodeQueue.start();
  log.info('node queue consuming', { queue: nodeQueue.queueName });
  compaction.started(Date.now());

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('draining', { signal, connections: registry.size });
    server?.drain();
    await cursorWriter.close();
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
