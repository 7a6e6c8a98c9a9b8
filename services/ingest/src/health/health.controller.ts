import { Controller, Get, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IngestConfig } from '../config/ingest.config';
import { ReadinessService, type Readiness } from './readiness.service';

@ApiExcludeController()
@Controller()
export class HealthController implements BeforeApplicationShutdown {
  constructor(
    private readonly readiness: ReadinessService,
    private readonly config: IngestConfig,
  ) {}

  /** Alive: the process answers. */
  @Get('healthz')
  health(): { status: 'ok'; node: string } {
    return { status: 'ok', node: this.config.nodeId };
  }

  /** Ready: RabbitMQ reachable with ingest's topology declared, PostgreSQL reachable, not draining. */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: FastifyReply): Promise<Readiness> {
    const result = await this.readiness.check();
    res.status(result.ready ? 200 : 503);
    return result;
  }

  beforeApplicationShutdown(): void {
    this.readiness.markDraining();
  }
}
