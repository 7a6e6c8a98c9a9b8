import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { coalesceAmqplibWrites, Topology } from '@notify/amqp';
import { loadConfigOrExit, redact } from '@notify/config';
import { JsonLogger } from '@notify/logging';
import { migrateDatabase } from '@notify/store';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { loadIngestConfig, type IngestConfig } from './config/ingest.config';
import { PlainJsonDeserializer } from './amqp-transport/plain-json.deserializer';
import { registerBodyParsers } from './http/body-parsers';
import { createHttpAdapter } from './http/http-adapter';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { IngestTopology } from './infrastructure/ingest-topology';
import { createValidationPipe } from './http/validation.pipe';
import { setupOpenApi } from './openapi';

async function migrate(config: IngestConfig, log: JsonLogger): Promise<void> {
  const applied = await migrateDatabase(config.databaseUrl);
  if (applied.length > 0) log.info('migrations applied', { migrations: applied.map((m) => m.migrationName) });
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(() => loadIngestConfig());
  const log = new JsonLogger('ingest', { node: config.nodeId });
  if (!coalesceAmqplibWrites()) log.warn('amqplib internals changed: broker writes are not coalesced');
  if (config.migrateOnStart) await migrate(config, log);

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config),
    createHttpAdapter(config),
    {
      // Ours instead (body-parsers.ts): one parser, one limit, the exception filter's errors.
      bodyParser: false,
      // Nest's own lines wait for nestjs-pino (request-logging.ts), so every line has one JSON shape.
      bufferLogs: true,
    },
  );
  registerBodyParsers(app.getHttpAdapter().getInstance(), config.bodyLimitBytes);
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter(app.getHttpAdapter(), config.bodyLimitBytes));
  app.enableShutdownHooks();
  setupOpenApi(app);
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.RMQ,
    options: {
      urls: [config.amqpUrl],
      queue: Topology.ingestQueue,
      // Topology (quorum queue, dead-letter arguments, bindings) is ours, asserted by the publish channel.
      noAssert: true,
      noAck: false,
      prefetchCount: config.prefetch,
      deserializer: new PlainJsonDeserializer(),
      socketOptions: {
        connectionOptions: { noDelay: true },
        reconnectTimeInSeconds: 1,
        heartbeatIntervalInSeconds: 10,
      },
    },
  });

  // HTTP first, so liveness answers while the broker is still unreachable.
  await app.listen(config.port, '0.0.0.0');
  log.info('http listening', {
    port: config.port,
    tls: config.tls !== undefined,
    amqp: redact(config.amqpUrl),
  });
  await app
    .get(IngestTopology)
    .whenDeclared()
    .catch((err: Error) => {
      throw new Error(
        `RabbitMQ refused ingest's topology (${err.message}); remove or fix the conflicting definition`,
      );
    });
  await app.startAllMicroservices();
  log.info('consuming', { queue: Topology.ingestQueue, prefetch: config.prefetch });
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`ingest failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
