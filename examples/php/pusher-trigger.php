<?php
// (4) Trigger a Pusher event through notify's Pusher HTTP API (docs/pusher.md), signed by hand as
// Pusher's SDKs sign requests, so no composer package is needed. With Laravel, the `pusher`
// broadcaster does this for you (laravel/config/broadcasting.php).
//
//   NOTIFY_INGEST_URL=http://127.0.0.1:3000 PUSHER_APP_ID=1 PUSHER_APP_KEY=app-key PUSHER_APP_SECRET=... \
//     php pusher-trigger.php my-channel my-event '{"message":"hello"}' [socket_id]
declare(strict_types=1);

require_once __DIR__ . '/notify.php';

/**
 * POST /apps/{id}/events. The signature is HMAC-SHA256 (hex, keyed with the secret) of
 * "METHOD\npath\nquery", the query's parameters sorted by name, as k=v joined with &, not URL-encoded.
 */
function pusher_trigger(string $baseUrl, string $appId, string $key, string $secret, array $channels, string $event, string $data, ?string $socketId = null): array
{
    $fields = ['name' => $event, 'data' => $data, 'channels' => $channels];
    if ($socketId !== null) {
        $fields['socket_id'] = $socketId;
    }
    $body = json_encode($fields, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
    $path = "/apps/$appId/events";
    $query = [
        'auth_key' => $key,
        'auth_timestamp' => (string) time(),
        'auth_version' => '1.0',
        'body_md5' => md5($body),
    ];
    ksort($query, SORT_STRING);
    $signed = implode('&', array_map(fn ($k, $v) => "$k=$v", array_keys($query), $query));
    $query['auth_signature'] = hash_hmac('sha256', "POST\n$path\n$signed", $secret);
    return notify_http('POST', $baseUrl . $path . '?' . http_build_query($query), ['Content-Type' => 'application/json'], $body);
}

if (realpath($argv[0] ?? '') === __FILE__) {
    [, $channel, $event, $data] = $argv + [null, 'my-channel', 'my-event', '{"message":"hello"}'];
    [$status, $answer] = pusher_trigger(
        notify_env('NOTIFY_INGEST_URL', 'http://127.0.0.1:3000'),
        notify_env('PUSHER_APP_ID', '1'),
        notify_env('PUSHER_APP_KEY', 'app-key'),
        notify_required_env('PUSHER_APP_SECRET'),
        [$channel],
        $event,
        $data,
        $argv[4] ?? null,
    );
    echo "$status $answer\n";
    exit($status === 200 ? 0 : 1);
}
