import { BadRequestException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Topology } from '@notify/amqp';
import { PUSHER_TERMINATE_KIND, pusherUserIdProblem, pusherUserRoutingKey } from '@notify/pusher';
import type { DeliveryChannel } from '../delivery/delivery.publisher';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';

/**
 * `POST users/{userId}/terminate_connections`: tells every gateway holding a socket signed in as the
 * user to close it, through notify.delivery (the gateways bind the user's key while they hold one).
 * Confirmed by the broker before the producer is answered; nothing is stored.
 */
@Injectable()
export class PusherTerminatePublisher {
  constructor(@Inject(PUBLISH_CHANNEL) private readonly channel: DeliveryChannel) {}

  async terminate(appId: string, userId: string): Promise<void> {
    const problem = pusherUserIdProblem(appId, userId);
    if (problem) throw new BadRequestException(problem);
    const routingKey = pusherUserRoutingKey(appId, userId);
    try {
      await this.channel.publish(Topology.deliveryExchange, routingKey, Buffer.alloc(0), {
        type: PUSHER_TERMINATE_KIND,
        persistent: false,
      });
    } catch {
      throw new ServiceUnavailableException('the broker did not confirm the termination; retry');
    }
  }
}
