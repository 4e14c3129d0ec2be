import { pino, type Logger } from 'pino';
import { ecsFormat } from '@elastic/ecs-pino-format';

export type { Logger };

let root: Logger | undefined;

/**
 * The one logger. ECS-formatted JSON on stderr, so stdout stays for command output
 * and Nyx's own logs can be shipped into the stack like any other source.
 */
export function getLogger(name?: string): Logger {
  root ??= pino(
    { ...ecsFormat({ convertErr: true }), level: process.env.NYX_LOG_LEVEL ?? 'warn', base: { service: { name: 'nyx' } } },
    pino.destination({ dest: 2, sync: true }),
  );
  return name ? root.child({ log: { logger: name } }) : root;
}

export function setLogLevel(level: string): void {
  getLogger().level = level;
}
