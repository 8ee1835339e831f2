import type { MessagePort } from 'node:worker_threads';
import { bytesToHex } from '../../domain/hashing.ts';
import type { EventLog, Position, ReadStreamOptions, RecordedEvent } from '../../streams/eventLog.ts';
import { eventSchemas, type ItemAccepted } from '../../streams/events.ts';
import { ITEM_BYTES } from '../acceptedItemBytes.ts';

/**
 * A parallel replay reads the log once. The calling thread reads, validates and folds its share,
 * and relays every event it read to the worker, which folds its share (the ledger, `transactions`)
 * from them instead of reading (and decoding) the log a second time. ItemAccepted events, nearly all of a log, travel as
 * bytes in a transferred ArrayBuffer: the item's consensus bytes (already decoded from hex for the
 * header check), never as strings, which a structured clone would copy one by one. Every other
 * event travels as its JSON text.
 *
 * A relayed ItemAccepted carries what the ledger and the audit read: position, stream, revision
 * and type, and session, index, peer, txid, netAssets and the item's bytes. It carries no `id`
 * (''), no metadata beyond the guardian's (recordedAt ''), and no `itemHash`: the calling thread
 * checks the session headers (reading `itemHash` throws).
 */

const ITEM_ACCEPTED = 1;
const OTHER = 2;
/** A relayed message's buffer; an item larger than what is left starts a buffer of its own size. */
const BUFFER_BYTES = 1 << 18;
/**
 * Messages sent and not yet taken by the worker, at most (about a page each: ~25 MB in all): past
 * it the calling thread waits before reading on (RelayWriter.ready), so a worker that falls behind
 * on a long log does not make the relay hold the log in memory.
 */
const MAX_IN_FLIGHT = 128;
/** Tag, position, revision, session, index, peer, txid flag, netAssets length, item length. */
const FIXED_BYTES = 1 + 8 + 4 + 4 + 4 + 2 + 1 + 1 + 4;

interface RelayMessage {
  buffer?: ArrayBuffer;
  used?: number;
  others?: string[];
  end?: true;
}

/** The worker's answer to each relayed message it has taken. */
interface RelayAck {
  taken: number;
}

/** The `data` of a relayed ItemAccepted: the item as bytes (its hex is made only if asked for; acceptedItemBytes takes the bytes). */
class RelayedItemAccepted implements ItemAccepted {
  constructor(
    readonly session: number,
    readonly index: number,
    readonly peer: number,
    readonly bytes: Uint8Array,
    readonly txid: string | undefined,
    readonly netAssets: string,
  ) {}
  get item(): string {
    return bytesToHex(this.bytes);
  }
  get [ITEM_BYTES](): Uint8Array {
    return this.bytes;
  }
  get itemHash(): string {
    throw new Error('a relayed ItemAccepted carries no itemHash (the calling thread checks the headers)');
  }
}

/** The calling thread's end: `add` every event read, in order (an ItemAccepted with its item's bytes), `end` once the read is over. */
export class RelayWriter {
  private buffer = new ArrayBuffer(BUFFER_BYTES);
  private view = new DataView(this.buffer);
  private bytes = Buffer.from(this.buffer);
  private used = 0;
  private others: string[] = [];
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private throttled = true;

  constructor(
    private readonly port: MessagePort,
    private readonly maxInFlight = MAX_IN_FLIGHT,
  ) {
    port.on('message', ({ taken }: RelayAck) => {
      this.inFlight -= taken;
      if (this.inFlight <= this.maxInFlight) this.release();
    });
  }

  /**
   * Undefined while the worker keeps up; else a promise resolved once it has taken enough of what
   * was sent (the caller waits before reading on).
   */
  ready(): Promise<void> | undefined {
    if (!this.throttled || this.inFlight <= this.maxInFlight) return undefined;
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The worker is gone (it failed or was stopped): nothing will be taken, so nobody waits for it. */
  abandon(): void {
    this.throttled = false;
    this.release();
  }

  private release(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  add(event: RecordedEvent, item?: Uint8Array): void {
    if (item === undefined || event.type !== 'ItemAccepted') {
      this.room(1);
      this.bytes[this.used++] = OTHER;
      this.others.push(JSON.stringify({ ...event, position: event.position.toString() }));
      return;
    }
    const data = event.data as ItemAccepted;
    const net = data.netAssets;
    const txid = data.txid;
    if (net.length > 0xff || data.peer > 0xffff || data.session > 0xffffffff || data.index > 0xffffffff || event.revision > 0xffffffff) return this.add(event);
    this.room(FIXED_BYTES + net.length + (txid === undefined ? 0 : 32) + item.length);
    const view = this.view;
    let at = this.used;
    view.setUint8(at, ITEM_ACCEPTED);
    view.setBigUint64(at + 1, event.position, true);
    view.setUint32(at + 9, event.revision, true);
    view.setUint32(at + 13, data.session, true);
    view.setUint32(at + 17, data.index, true);
    view.setUint16(at + 21, data.peer, true);
    view.setUint8(at + 23, txid === undefined ? 0 : 1);
    view.setUint8(at + 24, net.length);
    view.setUint32(at + 25, item.length, true);
    at += FIXED_BYTES;
    for (let i = 0; i < net.length; i++) this.bytes[at + i] = net.charCodeAt(i);
    at += net.length;
    if (txid !== undefined) {
      this.bytes.write(txid, at, 32, 'hex');
      at += 32;
    }
    this.bytes.set(item, at);
    this.used = at + item.length;
  }

  /** Sends what was added since the last flush (at the end of each page read, and before each fold of this thread's). */
  flush(): void {
    if (this.used === 0) return;
    const message: RelayMessage = { buffer: this.buffer, used: this.used, others: this.others };
    this.port.postMessage(message, [this.buffer]);
    this.inFlight++;
    this.fresh(BUFFER_BYTES);
  }

  /** No more events: the worker's reads end here (the port stays open until its owner closes it). */
  end(): void {
    this.flush();
    this.port.postMessage({ end: true } satisfies RelayMessage);
  }

  private room(bytes: number): void {
    if (this.used + bytes <= this.buffer.byteLength) return;
    this.flush();
    if (bytes > this.buffer.byteLength) this.fresh(bytes);
  }

  private fresh(size: number): void {
    this.buffer = new ArrayBuffer(size);
    this.view = new DataView(this.buffer);
    this.bytes = Buffer.from(this.buffer);
    this.used = 0;
    this.others = [];
  }
}

/**
 * The worker's end: `log` whose readAllPages yields the relayed events instead of reading. Events
 * at or before a read's starting position are dropped (the share passes over the same stored
 * snapshots as the calling thread, which relays none of them); a page is short only at the end.
 */
export function relayedLog(log: EventLog, port: MessagePort, guardian: number): EventLog {
  const queue: RecordedEvent[] = [];
  let head = 0;
  let ended = false;
  let waiting: (() => void) | undefined;
  // Relayed ItemAccepted events were read and upcast by the calling thread: of the current version.
  const metadata = { schemaVersion: eventSchemas.ItemAccepted.version, guardian, recordedAt: '' };
  const streams = new Map<number, string>();
  const streamOf = (session: number) => {
    let stream = streams.get(session);
    if (stream === undefined) streams.set(session, (stream = `session-${session}`));
    return stream;
  };
  let lastNet = '';
  const latin1 = new TextDecoder('latin1');
  port.on('message', (message: RelayMessage) => {
    if (message.end === true) ended = true;
    else {
      decode(message);
      port.postMessage({ taken: 1 } satisfies RelayAck);
    }
    waiting?.();
    waiting = undefined;
  });
  const decode = ({ buffer, used, others }: RelayMessage) => {
    const view = new DataView(buffer!);
    const bytes = new Uint8Array(buffer!);
    let other = 0;
    for (let at = 0; at < used!; ) {
      if (bytes[at] === OTHER) {
        const parsed = JSON.parse(others![other++]!) as RecordedEvent & { position: string };
        queue.push({ ...parsed, position: BigInt(parsed.position) });
        at++;
        continue;
      }
      const position = view.getBigUint64(at + 1, true);
      const revision = view.getUint32(at + 9, true);
      const session = view.getUint32(at + 13, true);
      const index = view.getUint32(at + 17, true);
      const peer = view.getUint16(at + 21, true);
      const hasTxid = bytes[at + 23] === 1;
      const netLength = bytes[at + 24]!;
      const itemLength = view.getUint32(at + 25, true);
      at += FIXED_BYTES;
      // Net assets rarely change from one item to the next: the same text is kept.
      let net = lastNet;
      if (net.length !== netLength || !sameAscii(bytes, at, net)) net = lastNet = latin1.decode(bytes.subarray(at, at + netLength));
      at += netLength;
      let txid: string | undefined;
      if (hasTxid) {
        txid = Buffer.from(buffer!, at, 32).toString('hex');
        at += 32;
      }
      const item = bytes.subarray(at, at + itemLength);
      at += itemLength;
      queue.push({ id: '', stream: streamOf(session), revision, position, type: 'ItemAccepted', data: new RelayedItemAccepted(session, index, peer, item, txid, net), metadata });
    }
  };
  const next = () => new Promise<void>((resolve) => (waiting = resolve));
  async function* readAllPages(after: Position = 0n, size = 1024): AsyncIterable<RecordedEvent[]> {
    for (;;) {
      while (head < queue.length && queue[head]!.position <= after) head++;
      while (!ended && queue.length - head < size) await next();
      while (head < queue.length && queue[head]!.position <= after) head++;
      const page = queue.slice(head, head + size);
      head += page.length;
      // Keep the queue from growing with what was read.
      if (head > 8192) {
        queue.splice(0, head);
        head = 0;
      }
      if (page.length > 0) {
        after = page[page.length - 1]!.position;
        yield page;
      }
      if (page.length < size) return;
    }
  }
  const readStreamText = log.readStreamText;
  return {
    append: (stream, events, options) => log.append(stream, events, options),
    readStream: (stream, options) => log.readStream(stream, options),
    ...(readStreamText === undefined ? {} : { readStreamText: (stream: string, options?: ReadStreamOptions) => readStreamText.call(log, stream, options) }),
    readAllPages,
    readAll: async function* (after?: Position) {
      for await (const page of readAllPages(after)) yield* page;
    },
    subscribe: (from) => log.subscribe(from),
    close: () => {
      port.close();
      return log.close();
    },
  };
}

function sameAscii(bytes: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}
