/**
 * The frames waiting for a peer's socket, bounded by count. When full, the oldest frame is dropped:
 * while a peer is away the broadcast keeps producing newer units and requests, and the newest say
 * the most about where we are; what the peer then misses it asks for again (the broadcast's
 * requests for missing units), so an old frame is the cheapest to lose.
 */
export interface SendQueue {
  /** Adds a frame; returns true if an older frame was dropped to make room. */
  push(frame: Buffer): boolean;
  shift(): Buffer | undefined;
  readonly length: number;
}

export function createSendQueue(limit: number): SendQueue {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`sendQueueLimit must be a positive integer, got ${limit}`);
  // A ring buffer: push and shift are O(1) and the memory never grows past `limit` slots.
  const slots: (Buffer | undefined)[] = new Array<Buffer | undefined>(limit);
  let head = 0;
  let length = 0;
  return {
    get length() {
      return length;
    },
    push(frame) {
      const dropped = length === limit;
      if (dropped) {
        head = (head + 1) % limit;
        length--;
      }
      slots[(head + length) % limit] = frame;
      length++;
      return dropped;
    },
    shift() {
      if (length === 0) return undefined;
      const frame = slots[head];
      slots[head] = undefined;
      head = (head + 1) % limit;
      length--;
      return frame;
    },
  };
}
