/** This process's Node options without the ones that load tsx: what a worker thread that loads plain JavaScript starts with. */
export function workerExecArgv(execArgv?: readonly string[]): string[];
