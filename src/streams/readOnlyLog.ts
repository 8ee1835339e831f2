import type { EventLog } from './eventLog.ts';

/** A write to a log opened read-only: a replica reading a guardian's streams must never change them. */
export class ReadOnlyLogError extends Error {
  override readonly name = 'ReadOnlyLogError';
  constructor(
    readonly operation: 'append' | 'deleteStream',
    readonly stream: string,
  ) {
    super(`${operation} ${stream}: this log is opened read-only (another process owns its streams)`);
  }
}

/**
 * `log` for reading only: every read and the subscription pass through; append and deleteStream
 * throw ReadOnlyLogError before anything reaches the store, whatever the caller expected.
 */
export function readOnlyLog(log: EventLog): EventLog {
  return {
    append: (stream) => Promise.reject(new ReadOnlyLogError('append', stream)),
    deleteStream: (stream) => Promise.reject(new ReadOnlyLogError('deleteStream', stream)),
    readStream: (stream, options) => log.readStream(stream, options),
    ...(log.readStreamText === undefined ? {} : { readStreamText: log.readStreamText.bind(log) }),
    readAll: (fromPosition) => log.readAll(fromPosition),
    ...(log.readAllPages === undefined ? {} : { readAllPages: log.readAllPages.bind(log) }),
    subscribe: (fromPosition) => log.subscribe(fromPosition),
    close: () => log.close(),
  };
}
