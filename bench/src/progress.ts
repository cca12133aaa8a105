import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';

/** What the sections report while they run; nothing of it goes to latest.json. */
export interface Progress {
  step(label: string): void;
  log(message: string): void;
  stop(): void;
}

/**
 * A bar on a terminal, one line per step otherwise (CI logs, pipes): a bar redrawn into a log
 * file would be unreadable.
 */
export function createProgress(totalSteps: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;
  if (!stream.isTTY) {
    let n = 0;
    return {
      step: (label) => void stream.write(`[${elapsed()}] ${++n}/${totalSteps} ${label}\n`),
      log: (message) => void stream.write(`[${elapsed()}] ${message}\n`),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream, format: '{bar} {value}/{total} {duration}s {label}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalSteps, 0, { label: '' });
  return {
    step: (label) => bar.increment(1, { label }),
    log: (message) => {
      // Above the bar, so the bar stays the last line.
      stream.write(`\r\x1b[K[${elapsed()}] ${message}\n`);
      bar.render();
    },
    stop: () => bar.stop(),
  };
}

/** For tests and embedding: reports nothing. */
export const silentProgress: Progress = { step: () => {}, log: () => {}, stop: () => {} };
