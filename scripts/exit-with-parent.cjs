// Preloaded (`node --require`) into the services and helpers that tests, benchmarks and `npm start`
// launch. Their stdin is a pipe from the process that started them. When that process is gone,
// however it ended (SIGKILL, a CI timeout, a crash), the pipe reaches its end and this process stops
// too, rather than holding ports, broker queues and CPU that later runs would measure.
'use strict';

const stdin = process.stdin;
// A terminal or /dev/null is not a launcher's pipe: nothing to watch.
if (!stdin.isTTY && typeof stdin.unref === 'function') {
  stdin.once('end', () => {
    // SIGTERM first, so a service drains as it would under an orchestrator; then no more waiting.
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 10_000).unref();
  });
  stdin.on('error', () => undefined);
  stdin.resume();
  // Watching must not keep a process alive that has finished its work.
  stdin.unref();
}
