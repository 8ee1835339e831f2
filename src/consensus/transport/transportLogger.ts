/** The slice of a pino logger the transport uses; a guardian passes its own pino child. */
export interface TransportLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {} };
