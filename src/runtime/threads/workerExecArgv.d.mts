/** This process's Node options without the ones that load tsx: what a worker thread that loads plain JavaScript starts with. */
export function workerExecArgv(execArgv?: readonly string[]): string[];
/** A worker thread started with workerExecArgv(execArgv), less the options a worker refuses (V8 and process-wide flags). */
export function newWorker(url: string | URL, options?: import('node:worker_threads').WorkerOptions, execArgv?: readonly string[]): import('node:worker_threads').Worker;
