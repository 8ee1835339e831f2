#!/usr/bin/env node
// Runs the TypeScript CLI in this process, through tsx's loader, so `npx fedlog` works from a
// checkout without a build step. No child process: SIGINT and SIGTERM sent to this process reach
// the guardian itself (a wrapper that spawned one would die and leave the guardian holding its ports).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
