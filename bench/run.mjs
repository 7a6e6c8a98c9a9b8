// `npm run bench [-- --quick] [-- --only w2,w3]`: starts the services, builds (scripts/build.sh), then
// runs dist/bench/run.js.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Starts PostgreSQL and RabbitMQ (with its management API) when they are installed but stopped.
const services = spawnSync('bash', [join(root, 'scripts', 'ensure-services.sh')], {
  cwd: root,
  stdio: 'inherit',
});
if (services.status !== 0) process.exit(services.status ?? 1);
const build = spawnSync('bash', [join(root, 'scripts', 'build.sh')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'run.js'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
