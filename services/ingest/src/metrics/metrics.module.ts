import { Controller, Get, Global, Inject, Module, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { FastifyReply } from 'fastify';
import { Topology } from '@notify/amqp';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';
import { IngestMetrics } from './ingest-metrics';

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: IngestMetrics,
    @Inject(PUBLISH_CHANNEL) private readonly channel: ChannelWrapper,
  ) {}

  @Get('metrics')
  async scrape(@Res() res: FastifyReply): Promise<void> {
    try {
      this.metrics.queueMessages.set((await this.channel.checkQueue(Topology.ingestQueue)).messageCount);
    } catch {
      // Broker unreachable: the gauge keeps its last value; readiness reports the outage.
    }
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

@Global()
@Module({ controllers: [MetricsController], providers: [IngestMetrics], exports: [IngestMetrics] })
export class MetricsModule {}
