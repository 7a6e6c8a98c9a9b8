/**
 * `npm run openapi`: writes the OpenAPI document of the HTTP API to docs/openapi.json (or the path
 * given). The document comes from the controllers and DTOs themselves; an e2e test compares the
 * served /docs-json with the committed file, so the committed one cannot drift.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { createHttpAdapter } from './http/http-adapter';
import { loadIngestConfig } from './config/ingest.config';
import { buildOpenApiDocument } from './openapi';

async function main(): Promise<void> {
  const out = process.argv[2] ?? 'docs/openapi.json';
  // Nothing is started: no listen, no consumer, no lifecycle hooks; providers connect lazily.
  const config = loadIngestConfig();
  const app = await NestFactory.create(AppModule.forRoot(config), createHttpAdapter(config), {
    logger: false,
    abortOnError: false,
  });
  writeFileSync(out, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
  await app.close();
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`openapi export failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
