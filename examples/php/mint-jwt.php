<?php
// (3) A user's token for the gateway (docs/protocol.md, "Connecting"): an HS256 JWT signed with
// NOTIFY_JWT_SECRET, `sub` the user id, `exp` required, `channels` the channel grants (optional).
// Add `iss`/`aud` when the gateway sets NOTIFY_JWT_ISSUER / NOTIFY_JWT_AUDIENCE.
//
//   NOTIFY_JWT_SECRET=... php mint-jwt.php alice 'team.42.*' > token
declare(strict_types=1);

require_once __DIR__ . '/notify.php';

function base64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

/** @param string[] $channels */
function notify_jwt(string $userId, string $secret, int $ttlSeconds = 3600, array $channels = []): string
{
    $now = time();
    $claims = ['sub' => $userId, 'iat' => $now, 'exp' => $now + $ttlSeconds];
    if ($channels !== []) {
        $claims['channels'] = array_values($channels);
    }
    $header = base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT'], JSON_THROW_ON_ERROR));
    $payload = base64url(json_encode($claims, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES));
    $signature = base64url(hash_hmac('sha256', "$header.$payload", $secret, true));
    return "$header.$payload.$signature";
}

if (realpath($argv[0] ?? '') === __FILE__) {
    $secret = notify_required_env('NOTIFY_JWT_SECRET');
    echo notify_jwt($argv[1] ?? 'alice', $secret, 3600, array_slice($argv, 2)), "\n";
}
