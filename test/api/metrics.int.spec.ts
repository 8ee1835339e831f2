import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';


function promtool(text: string): { status: number | null; output: string } | undefined {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error !== undefined && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('/metrics', () => {
  let api: ApiServer;
  let text: string;

  beforeAll(async () => {
    api = await startApiServer();
    await seedHistory(api);
    await api.get('/v1/sessions/0/status');
    await api.get('/v1/sessions/1/status');
    await api.get('/v1/sessions/abc/status');
    await api.get('/no/such/path/1234');
    const response = await api.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await response.text();
  });
  afterAll(async () => {
    await api.close();
  });

  it('counts requests by method, route template and status', () => {
    expect(text).toContain('fedlog_http_requests_total{method="GET",route="/v1/sessions/:i/status",status="200"} 2');
    expect(text).toContain('fedlog_http_requests_total{method="GET",route="/v1/sessions/:i/status",status="400"} 1');
    expect(text).toContain('fedlog_http_requests_total{method="POST",route="/v1/admin/deposits",status="202"} 1');
    expect(text).toContain('fedlog_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toMatch(/fedlog_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/sessions\/:i\/status",status="200"\} \d+/);
  });

  it('never uses a raw path as a label', () => {
    expect(text).not.toContain('route="/v1/sessions/0/status"');
    expect(text).not.toContain('/no/such/path');
  });

  it('serves the guardian registry itself (consensus and process metrics)', () => {
    expect(text).toContain('# TYPE consensus_items_processed_total counter');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('passes promtool check metrics', (context) => {
    const result = promtool(text);
    if (result === undefined) {
      if (process.env.FEDLOG_SKIP_PROMTOOL === '1') {
        console.warn('promtool check skipped: promtool is not installed and FEDLOG_SKIP_PROMTOOL=1');
        context.skip();
        return;
      }
      throw new Error('promtool is not installed: `apt-get install -y prometheus` provides it (CI installs it in .ci/run); set FEDLOG_SKIP_PROMTOOL=1 to skip this check');
    }
    expect(text.length).toBeGreaterThan(1000);
    // 0: clean, no lint findings either (3 would be lint findings, 1 a format error).
    expect(result.status, result.output).toBe(0);
    expect(result.output.trim()).toBe('');
    // The same check fails on a broken exposition, so passing above means something.
    expect(promtool(`${text}fedlog_broken{route="x"} not-a-number\n`)?.status).toBe(1);
  });
});
