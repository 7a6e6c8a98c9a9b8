<?php
// config/broadcasting.php of a Laravel app, with its `pusher` connection pointed at notify: the
// broadcaster (pusher/pusher-php-server) calls notify's Pusher HTTP API on ingest, as it would call
// Pusher's. Only the `options` differ from Laravel's default file. notify's NOTIFY_PUSHER_APPS (on
// ingest and on the gateways) must hold the same "PUSHER_APP_ID:PUSHER_APP_KEY:PUSHER_APP_SECRET".

return [

    'default' => env('BROADCAST_CONNECTION', env('BROADCAST_DRIVER', 'pusher')),

    'connections' => [

        'pusher' => [
            'driver' => 'pusher',
            'key' => env('PUSHER_APP_KEY'),
            'secret' => env('PUSHER_APP_SECRET'),
            'app_id' => env('PUSHER_APP_ID'),
            'options' => [
                // Where ingest listens (NOTIFY_INGEST_PORT), not the gateways: the server side of
                // Pusher is the HTTP API, which notify serves on ingest.
                'host' => env('PUSHER_HOST', '127.0.0.1'),
                'port' => env('PUSHER_PORT', 3000),
                'scheme' => env('PUSHER_SCHEME', 'http'),
                'encrypted' => true,
                'useTLS' => env('PUSHER_SCHEME', 'http') === 'https',
            ],
            'client_options' => [
                // Guzzle options, e.g. a CA bundle for a private certificate: 'verify' => '/path/ca.pem'.
            ],
        ],

        'log' => [
            'driver' => 'log',
        ],

        'null' => [
            'driver' => 'null',
        ],

    ],

];
