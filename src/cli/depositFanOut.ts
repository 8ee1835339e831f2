/**
 * `fedlog dev`'s stand-in for the bitcoin every guardian watches: a local HTTP front for one
 * guardian's API that passes every request through, except a deposit observation
 * (POST /v1/admin/deposits), which it makes to every guardian with each one's own admin token. A
 * deposit is confirmed only when `threshold` guardians proposed it (DESIGN.md, wallet), so a load
 * client that told one guardian alone would never get to spend it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FanOutTarget {
  url: string;
  adminToken: string;
}

export interface DepositFanOut {
  /** Where the load client sends its requests. */
  url: string;
  close(): Promise<void>;
}

const DEPOSITS = '/v1/admin/deposits';

/** A front for `guardians[own]`: everything goes to it, deposits to all of `guardians`. */
export async function startDepositFanOut(guardians: readonly FanOutTarget[], own: number): Promise<DepositFanOut> {
  const target = new URL(guardians[own]!.url);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((request, response) => {
    if (request.method === 'POST' && request.url === DEPOSITS) return void fanOut(request, response);
    const upstream = http.request({ host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers, agent }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', (error) => fail(response, error));
    request.pipe(upstream);
  });

  async function fanOut(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const answers = await Promise.all(
        guardians.map(async (guardian) => {
          const answer = await fetch(`${guardian.url}${DEPOSITS}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${guardian.adminToken}` }, body });
          return { status: answer.status, text: await answer.text(), type: answer.headers.get('content-type') ?? 'application/json' };
        }),
      );
      // The client hears its own guardian's answer, as it would without the front.
      const mine = answers[own]!;
      response.writeHead(mine.status, { 'content-type': mine.type });
      response.end(mine.text);
    } catch (error) {
      fail(response, error);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

function fail(response: http.ServerResponse, error: unknown): void {
  if (response.headersSent) return void response.destroy();
  response.writeHead(502, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: 'bad gateway', reason: error instanceof Error ? error.message : String(error) }));
}
