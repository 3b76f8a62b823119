// The engine logs through whatever the caller injects (pino fits: info(obj, msg)); it imports no logger.

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

/** For the CLI and scripts: one line on stderr per message. */
export const stderrLogger: EngineLogger = {
  info: (obj, msg) => process.stderr.write(`${msg ?? ''} ${JSON.stringify(obj)}\n`),
  warn: (obj, msg) => process.stderr.write(`warning: ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  error: (obj, msg) => process.stderr.write(`error: ${msg ?? ''} ${JSON.stringify(obj)}\n`),
};
