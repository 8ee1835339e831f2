import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDepositFanOut, type DepositFanOut } from '../../src/cli/depositFanOut.ts';

/** Stand-in guardians that record what reached them and answer with their own name. */
async function fakeGuardian(name: string) {
  const seen: { method: string; url: string; authorization?: string; body: string }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, body });
      response.writeHead(request.url === '/v1/admin/deposits' ? 202 : 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ from: name }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe("fedlog dev's deposit fan-out in front of a guardian", () => {
  it('tells every guardian of a deposit, each with its own admin token, and answers with its own guardian\'s reply', async () => {
    const guardians = await Promise.all(['g0', 'g1', 'g2', 'g3'].map(fakeGuardian));
    closers.push(...guardians.map((g) => g.close));
    const front: DepositFanOut = await startDepositFanOut(guardians.map((g, i) => ({ url: g.url, adminToken: `token-${i}` })), 2);
    closers.push(() => front.close());
    const body = JSON.stringify({ depositId: 'ab'.repeat(32), amount: '1000', recipient: 'cd'.repeat(32) });
    const answer = await fetch(`${front.url}/v1/admin/deposits`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer token-2' }, body });
    expect(answer.status).toBe(202);
    expect(await answer.json()).toEqual({ from: 'g2' });
    guardians.forEach((g, i) => expect(g.seen).toEqual([{ method: 'POST', url: '/v1/admin/deposits', authorization: `Bearer token-${i}`, body }]));
  });

  it('passes every other request to its own guardian only, as sent', async () => {
    const guardians = await Promise.all(['g0', 'g1'].map(fakeGuardian));
    closers.push(...guardians.map((g) => g.close));
    const front = await startDepositFanOut(guardians.map((g, i) => ({ url: g.url, adminToken: `token-${i}` })), 0);
    closers.push(() => front.close());
    const answer = await fetch(`${front.url}/v1/transactions/batch?wait=100`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"txs":[]}' });
    expect(await answer.json()).toEqual({ from: 'g0' });
    expect(guardians[0]!.seen).toEqual([{ method: 'POST', url: '/v1/transactions/batch?wait=100', authorization: undefined, body: '{"txs":[]}' }]);
    expect(guardians[1]!.seen).toEqual([]);
  });
});
