import { Observable } from 'rxjs';
import type { Position, RecordedEvent } from './eventLog.ts';
import type { ReadPage } from './pagedRead.ts';

/**
 * The one subscription the sqlite and memory adapters share: read pages after the last position
 * delivered, and whenever the log reports an append, read again from that same position.
 * Because every read starts strictly after the last delivered position and positions only grow,
 * there is no duplicate; because the listener is registered before the first read and any
 * notification during a read forces another read, there is no gap at the switch to live.
 */

export interface AppendNotifier {
  /** Called by the adapter after a commit is durable. */
  appended(): void;
  /** Called by the adapter on close: live subscriptions complete at once (a reader resumes from its last position after restart). */
  closed(): void;
  listen(listener: (event: 'appended' | 'closed') => void): () => void;
}

export function createAppendNotifier(): AppendNotifier {
  const listeners = new Set<(event: 'appended' | 'closed') => void>();
  return {
    appended: () => {
      for (const listener of [...listeners]) listener('appended');
    },
    closed: () => {
      for (const listener of [...listeners]) listener('closed');
      listeners.clear();
    },
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const PAGE_SIZE = 4096;

/** Lets appenders and timers run between pages, so a long catch-up does not starve the producer. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function catchUpSubscription(readPage: ReadPage, notifier: AppendNotifier, fromPosition: Position): Observable<RecordedEvent> {
  return new Observable<RecordedEvent>((subscriber) => {
    let last = fromPosition;
    let stopped = false;
    let reading = false;
    let behind = true;

    const drain = async () => {
      if (reading) return;
      reading = true;
      try {
        while (behind && !stopped) {
          behind = false;
          for (;;) {
            const page = await readPage(last, PAGE_SIZE);
            for (const event of page) {
              if (stopped) return;
              last = event.position;
              subscriber.next(event);
            }
            if (page.length < PAGE_SIZE || stopped) break;
            await yieldToEventLoop();
          }
        }
      } catch (error) {
        if (!stopped) subscriber.error(error);
      } finally {
        reading = false;
      }
    };

    const unlisten = notifier.listen((event) => {
      if (event === 'closed') {
        stopped = true;
        subscriber.complete();
        return;
      }
      behind = true;
      void drain();
    });
    void drain();

    return () => {
      stopped = true;
      unlisten();
    };
  });
}
