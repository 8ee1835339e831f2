import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { convertToCommandError, DeadlineExceededError, NotLeaderError, StreamDeletedError, TimeoutError, UnavailableError } from '@eventstore/db-client';

/**
 * The client's real error classes, built the way the client builds them: from a gRPC ServiceError
 * (status code, details, trailing metadata) through its own convertToCommandError, as a node of a
 * cluster answers during an election, a restart, a slow commit or after a stream was deleted.
 */

function serviceError(code: status, details: string, metadata: Record<string, string> = {}): ServiceError {
  const trailers = new Metadata();
  for (const [key, value] of Object.entries(metadata)) trailers.set(key, value);
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: trailers });
}

function converted<T>(error: ServiceError, expected: abstract new (...args: never[]) => T): T {
  const command = convertToCommandError(error);
  if (!(command instanceof expected)) throw new Error(`the client converted ${error.message} to ${command.constructor.name}, not ${expected.name}`);
  return command;
}

/** A follower answering a write while node2 leads. */
export const notLeader = (): NotLeaderError =>
  converted(serviceError(status.NOT_FOUND, 'Leader info available', { exception: 'not-leader', 'leader-endpoint-host': 'node2', 'leader-endpoint-port': '2113' }), NotLeaderError);
/** The call's deadline passed (the write may have committed). */
export const deadlineExceeded = (): DeadlineExceededError => converted(serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), DeadlineExceededError);
/** No node answers (restart, election without a leader yet). */
export const unavailable = (): UnavailableError => converted(serviceError(status.UNAVAILABLE, 'No connection established'), UnavailableError);
/** The server's commit timeout: gRPC ABORTED, which the client reports as TimeoutError. */
export const commitTimeout = (): TimeoutError => converted(serviceError(status.ABORTED, 'Operation timed out'), TimeoutError);
/** The stream was deleted (tombstoned): not something a retry fixes. */
export const streamDeleted = (): StreamDeletedError =>
  converted(serviceError(status.FAILED_PRECONDITION, 'Event stream is deleted', { exception: 'stream-deleted', 'stream-name': 'session-0' }), StreamDeletedError);
