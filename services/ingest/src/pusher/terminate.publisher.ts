import { BadRequestException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Topology } from '@notify/amqp';
import { PUSHER_TERMINATE_KIND, pusherUserRoutingKey } from '@notify/pusher';
import type { DeliveryChannel } from '../delivery/delivery.publisher';
import { PUBLISH_CHANNEL } from '../infrastructure/amqp.module';

/** AMQP routing keys are at most 255 bytes. */
const MAX_ROUTING_KEY_BYTES = 255;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * `POST users/{userId}/terminate_connections`: tells every gateway holding a socket signed in as the
 * user to close it, through notify.delivery (the gateways bind the user's key while they hold one).
 * Confirmed by the broker before the producer is answered; nothing is stored.
 */
@Injectable()
export class PusherTerminatePublisher {
  constructor(@Inject(PUBLISH_CHANNEL) private readonly channel: DeliveryChannel) {}

  async terminate(appId: string, userId: string): Promise<void> {
    const routingKey = pusherUserRoutingKey(appId, userId);
    if (
      userId.length === 0 ||
      CONTROL_CHARACTER.test(userId) ||
      Buffer.byteLength(routingKey) > MAX_ROUTING_KEY_BYTES
    )
      throw new BadRequestException(
        `user id must be 1 to ${MAX_ROUTING_KEY_BYTES - Buffer.byteLength(pusherUserRoutingKey(appId, ''))} bytes without control characters`,
      );
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
