import { Inject, Injectable } from '@nestjs/common';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { sql } from 'kysely';
import type { Db } from '@notify/store';
import { AMQP_CONNECTION } from '../infrastructure/amqp.module';
import { DATABASE } from '../infrastructure/database.module';

export interface Readiness {
  ready: boolean;
  checks: { rabbitmq: boolean; postgres: boolean; draining: boolean };
}

const DB_CHECK_TIMEOUT_MS = 2_000;

@Injectable()
export class ReadinessService {
  private draining = false;

  constructor(
    @Inject(AMQP_CONNECTION) private readonly amqp: AmqpConnectionManager,
    @Inject(DATABASE) private readonly db: Db,
  ) {}

  /** After SIGTERM the instance reports not-ready so load balancers stop sending to it first. */
  markDraining(): void {
    this.draining = true;
  }

  async check(): Promise<Readiness> {
    const [postgres] = await Promise.all([this.pingDatabase()]);
    const rabbitmq = this.amqp.isConnected();
    return {
      ready: rabbitmq && postgres && !this.draining,
      checks: { rabbitmq, postgres, draining: this.draining },
    };
  }

  private async pingDatabase(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DB_CHECK_TIMEOUT_MS);
      });
      await Promise.race([sql`SELECT 1`.execute(this.db), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
