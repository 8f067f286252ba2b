import { errorSummary } from '../platform/errors';

/** One dependency the app relies on; `check` resolves when it answers and rejects when it does not. */
export interface DependencyProbe {
  name: string;
  required: boolean;
  check(signal: AbortSignal): Promise<void>;
}

/**
 * An optional service reachable over HTTP: any answer, even 401 or 404, shows it is up. No key is sent,
 * so nothing is spent and nothing can leak.
 */
export function httpProbe(name: string, url: string, fetchFn: typeof fetch = fetch): DependencyProbe {
  return {
    name,
    required: false,
    check: async (signal) => {
      const response = await fetchFn(url, { method: 'GET', signal });
      await response.body?.cancel();
    },
  };
}

export interface DependencyStatus {
  name: string;
  required: boolean;
  status: 'ok' | 'down';
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  /** `down` when a required dependency is down, `degraded` when only optional ones are. */
  status: 'ok' | 'degraded' | 'down';
  version: string;
  checkedAt: string;
  dependencies: DependencyStatus[];
}

export interface HealthCheckOptions {
  version: string;
  timeoutMs: number;
  now?: () => Date;
  /** Cleans error text before it is reported (errors may echo connection details). */
  redact?: (text: string) => string;
}

/** Probes every dependency in parallel, each bounded by the timeout. */
export async function checkDependencies(
  probes: readonly DependencyProbe[],
  options: HealthCheckOptions,
): Promise<HealthReport> {
  const now = options.now ?? (() => new Date());
  const redact = options.redact ?? ((t: string) => t);
  const dependencies = await Promise.all(probes.map((p) => runProbe(p, options.timeoutMs, redact)));
  const requiredDown = dependencies.some((d) => d.required && d.status === 'down');
  const anyDown = dependencies.some((d) => d.status === 'down');
  return {
    status: requiredDown ? 'down' : anyDown ? 'degraded' : 'ok',
    version: options.version,
    checkedAt: now().toISOString(),
    dependencies,
  };
}

async function runProbe(
  probe: DependencyProbe,
  timeoutMs: number,
  redact: (text: string) => string,
): Promise<DependencyStatus> {
  const started = performance.now();
  const base = { name: probe.name, required: probe.required };
  try {
    await withTimeout((signal) => probe.check(signal), timeoutMs);
    return { ...base, status: 'ok', latencyMs: elapsed(started) };
  } catch (error) {
    return { ...base, status: 'down', latencyMs: elapsed(started), error: redact(errorSummary(error)) };
  }
}

/** `work`'s result, or a rejection naming the limit once `timeoutMs` pass (the work is then aborted). */
export async function withTimeout<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Settle first so the report says why, then stop the work's own call.
      reject(new Error(`no answer within ${timeoutMs} ms`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
