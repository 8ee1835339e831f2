import { afterEach, describe, expect, it } from 'vitest';
import type { Network } from '../../../src/consensus/broadcast/network/network.ts';
import { transportNetwork } from '../../../src/consensus/transport/transportNetwork.ts';
import { allConnected, decode, makeCertificates, startFederation, text, waitFor, type TestFederation } from './support/federation.ts';

let federation: TestFederation | undefined;

afterEach(async () => {
  await federation?.close();
  federation = undefined;
});

describe('the broadcast Network port over the TLS transport', () => {
  it('sends to one peer and to all, names the sender by its link, and stops delivering once aborted', async () => {
    federation = await startFederation(await makeCertificates(4), 20);
    await waitFor('all links up', () => allConnected(federation!.transports));
    const networks: Network[] = federation.transports.map(transportNetwork);
    const aborts = networks.map(() => new AbortController());
    const received: string[][] = networks.map(() => []);
    networks.forEach((network, i) => network.receive((from, message) => received[i]!.push(`${from}:${decode(message)}`), aborts[i]!.signal));

    networks[1]!.send(3, text('one'));
    networks[0]!.sendAll(text('all'));
    networks[2]!.send(2, text('self')); // to itself: nothing, as in the simulated network
    await waitFor('delivery', () => received[3]!.length === 2 && received[1]!.length === 1 && received[2]!.length === 1);
    // Order holds per link only: guardian 3 may hear 0 before 1.
    expect(received.map((r) => [...r].sort())).toEqual([[], ['0:all'], ['0:all'], ['0:all', '1:one']]);

    aborts[3]!.abort();
    networks[0]!.send(3, text('late'));
    networks[0]!.send(1, text('marker'));
    await waitFor('the marker', () => received[1]!.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([...received[3]!].sort()).toEqual(['0:all', '1:one']);
  });
});
