#!/usr/bin/env node
// Command line: `statsd-native serve` runs the daemon, `statsd-native relay`
// shards lines over daemons by key, `statsd-native load` offers load (DESIGN §7). This file only dispatches; see src/commands/.
import { load } from './commands/load';
import { relay } from './commands/relay';
import { serve } from './commands/serve';
import { USAGE } from './commands/usage';
import { StatsdError } from './core/errors';

function fail(message: string): never {
  process.stderr.write(`statsd-native: ${message}\n`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === '--version' || command === '-v') {
      process.stdout.write(`${(require('../package.json') as { version: string }).version}\n`);
      return;
    }
    const help = rest.includes('--help') || rest.includes('-h');
    if (command === undefined || command === '--help' || command === '-h' || command === 'help' || help) {
      process.stdout.write(USAGE);
      return;
    }
    if (command === 'serve') return await serve(rest);
    if (command === 'load') return await load(rest);
    if (command === 'relay') return await relay(rest);
    fail(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  } catch (error) {
    // A usage error (ours, or parseArgs' ERR_PARSE_ARGS_*) or a system error
    // (EADDRINUSE, EAI_AGAIN …): anything with a code is one line. An error
    // without one is a bug: its stack is shown.
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof StatsdError || typeof code === 'string') fail((error as Error).message);
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`statsd-native: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
