<?php
// (2) The same notification over ingest's HTTP API (POST /v1/notifications, docs/protocol.md §4).
// Without the curl extension (Debian's php-cli has none) it uses file_get_contents with a stream
// context; with curl it is the same request. 202 means committed.
//
//   NOTIFY_INGEST_URL=http://127.0.0.1:3000 NOTIFY_API_KEY=dev-producer-key php publish-http.php alice order.shipped "Your order shipped"
declare(strict_types=1);

require_once __DIR__ . '/notify.php';

[, $userId, $topic, $title] = $argv + [null, 'alice', 'order.shipped', 'Your order shipped'];
$body = json_encode([
    'userId' => $userId,
    'topic' => $topic,
    'title' => $title,
    'data' => ['via' => 'php-http'],
    // Send the same key again when retrying after a timeout or a 503: nothing is stored twice.
    'idempotencyKey' => $argv[4] ?? bin2hex(random_bytes(16)),
], JSON_THROW_ON_ERROR);

[$status, $answer] = notify_http('POST', notify_env('NOTIFY_INGEST_URL', 'http://127.0.0.1:3000') . '/v1/notifications', [
    'Authorization' => 'Bearer ' . notify_env('NOTIFY_API_KEY', 'dev-producer-key'),
    'Content-Type' => 'application/json',
], $body);
echo "$status $answer\n";
exit($status === 202 ? 0 : 1);
