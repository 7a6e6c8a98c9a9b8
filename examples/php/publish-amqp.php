<?php
// (1) Publish a notification to notify over AMQP with Debian's php-amqplib (apt install php-amqplib),
// exactly as docs/protocol.md ("AMQP contract") asks: plain JSON to the exchange notify.ingest with
// routing key notification.<topic>, content-type application/json, persistent (delivery-mode 2),
// message-id set to an idempotency key, and publisher confirms: success only once the broker
// confirmed. Ingest acks the broker only after the commit, so a confirmed message is not lost.
//
//   NOTIFY_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ php publish-amqp.php alice order.shipped "Your order shipped" [idempotency-key]
declare(strict_types=1);

require_once '/usr/share/php/PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Message\AMQPMessage;

[, $userId, $topic, $title] = $argv + [null, 'alice', 'order.shipped', 'Your order shipped'];
// Derive the key from the business event in real code (e.g. "order-42-shipped"): a retry of the
// same event then stores nothing new. A random one only protects against the broker's redelivery.
$key = $argv[4] ?? bin2hex(random_bytes(16));

$url = parse_url(getenv('NOTIFY_AMQP_URL') ?: 'amqp://guest:guest@127.0.0.1:5672/');
$vhost = isset($url['path']) && $url['path'] !== '/' && $url['path'] !== '' ? rawurldecode(substr($url['path'], 1)) : '/';
$connection = new AMQPStreamConnection(
    $url['host'] ?? '127.0.0.1',
    $url['port'] ?? 5672,
    rawurldecode($url['user'] ?? 'guest'),
    rawurldecode($url['pass'] ?? 'guest'),
    $vhost,
);
$channel = $connection->channel();
$channel->confirm_select();
$confirmed = null;
$channel->set_ack_handler(function () use (&$confirmed) { $confirmed = true; });
$channel->set_nack_handler(function () use (&$confirmed) { $confirmed = false; });
// mandatory: a message no queue takes comes back instead of vanishing (notify.ingest takes every key).
$channel->set_return_listener(function () use (&$confirmed) { $confirmed = false; });

$body = json_encode(['userId' => $userId, 'topic' => $topic, 'title' => $title, 'data' => ['via' => 'php-amqplib']], JSON_THROW_ON_ERROR);
$message = new AMQPMessage($body, [
    'content_type' => 'application/json',
    'delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT,
    'message_id' => $key,
]);
$channel->basic_publish($message, 'notify.ingest', "notification.$topic", true);
$channel->wait_for_pending_acks_returns(5.0);
$channel->close();
$connection->close();

if ($confirmed !== true) {
    fwrite(STDERR, "the broker did not confirm the notification; publish it again with the same key ($key)\n");
    exit(1);
}
echo "confirmed $key\n";
