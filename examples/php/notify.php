<?php
// Helpers the examples share: configuration from the environment, and HTTP without the curl
// extension (Debian's php-cli does not include it: `php -m` lists no curl), through a stream context.
declare(strict_types=1);

function notify_env(string $name, string $default): string
{
    $value = getenv($name);
    return $value === false || $value === '' ? $default : $value;
}

/**
 * One HTTP request; returns [status, body]. Errors (4xx/5xx) are answers, not exceptions:
 * ignore_errors makes file_get_contents return their body too.
 */
function notify_http(string $method, string $url, array $headers = [], ?string $body = null): array
{
    $lines = [];
    foreach ($headers as $name => $value) {
        $lines[] = "$name: $value";
    }
    $context = stream_context_create(['http' => [
        'method' => $method,
        'header' => implode("\r\n", $lines),
        'content' => $body ?? '',
        'ignore_errors' => true,
        'timeout' => 10,
    ]]);
    $answer = @file_get_contents($url, false, $context);
    if ($answer === false) {
        throw new RuntimeException("no answer from $url");
    }
    // $http_response_header is set by file_get_contents in this scope; its first line is the status.
    preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0] ?? '', $m);
    return [(int) ($m[1] ?? 0), $answer];
}

function notify_required_env(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        fwrite(STDERR, "set $name\n");
        exit(2);
    }
    return $value;
}
