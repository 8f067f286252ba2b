import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cpuSeconds } from './processes';

/** The repository (the benches run from dist/bench/) and the local host every bench drives. */
export const APP_ROOT = path.resolve(__dirname, '..', '..');
export const SERVE = path.join(APP_ROOT, 'dist', 'cli', 'serve.js');

/** The function and master keys the host is started with; random per run, never printed. */
export interface HostKeys {
  functionKey: string;
  masterKey: string;
}

export interface HostOptions {
  keys: HostKeys;
  /** What errors call this process: `host`, `restarted host`. */
  label?: string;
  /** Node options of the process (`--cpu-prof`: a CPU profile, written when it stops). */
  nodeArgs?: readonly string[];
  /** 0 (the default) lets the host pick a free port. */
  port?: number;
}

const START_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 30_000;
const TAIL_LINES = 30;

/** `node dist/cli/serve.js` with the bench's settings in its environment, its last lines kept for errors. */
export class HostProcess {
  private readonly tail: string[] = [];
  private readonly watchers = new Set<(line: string) => void>();
  private readonly exited: Promise<void>;
  private origin = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly keys: HostKeys,
    readonly label: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const lines = (stream: NodeJS.ReadableStream | null) => {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (pending + chunk.toString('utf8')).split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) {
          this.tail.push(line);
          if (this.tail.length > TAIL_LINES) this.tail.shift();
          for (const watch of this.watchers) watch(line);
        }
      });
    };
    lines(child.stdout);
    lines(child.stderr);
  }

  static async start(settings: Record<string, string>, options: HostOptions): Promise<HostProcess> {
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        SERVE,
        '--port',
        String(options.port ?? 0),
        '--key',
        options.keys.functionKey,
        '--master-key',
        options.keys.masterKey,
      ],
      { cwd: APP_ROOT, env: { ...process.env, ...settings }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const host = new HostProcess(child, options.keys, options.label ?? 'host');
    const listening = await host
      .waitForLine(/^Listening on (http:\/\/\S+)/, START_DEADLINE_MS, 'to listen')
      .catch(async (error: unknown) => {
        await host.kill();
        throw error;
      });
    host.origin = listening[1] ?? '';
    return host;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return this.origin;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** CPU seconds it has used so far. */
  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The process's peak resident set (VmHWM), in MB: it must be read before the process ends. */
  peakRssMb(): number {
    return this.memoryMb('VmHWM');
  }

  /** Its resident set now (VmRSS), in MB. */
  rssMb(): number {
    return this.memoryMb('VmRSS');
  }

  private memoryMb(field: 'VmHWM' | 'VmRSS'): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1]);
    if (!Number.isFinite(kb)) throw new Error(`${this.label}: no ${field} in /proc/${this.pid}/status.`);
    return Math.round(kb / 1024);
  }

  /** Resolves with the match of the first line (from now on) matching `pattern`. */
  waitForLine(pattern: RegExp, deadlineMs: number, what: string): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error, match?: RegExpExecArray) => {
        clearTimeout(timer);
        this.watchers.delete(watch);
        if (error) reject(error);
        else if (match) resolve(match);
      };
      const watch = (line: string) => {
        const match = pattern.exec(line);
        if (match) finish(undefined, match);
      };
      const timer = setTimeout(
        () => finish(this.failure(`did not ${what} within ${deadlineMs / 1000} s`)),
        deadlineMs,
      );
      this.watchers.add(watch);
      void this.exited.then(() => finish(this.failure(`exited before it came ${what}`)));
    });
  }

  /**
   * One request with the function or master key (a JSON body, `{}` by default for methods other than
   * GET); redirects are answered, not followed, so a bench can play the browser.
   */
  async call(
    method: string,
    route: string,
    key: 'function' | 'master',
    body?: unknown,
  ): Promise<{ status: number; body: string; headers: Headers }> {
    const response = await fetch(`${this.origin}${route}`, {
      method,
      redirect: 'manual',
      headers: {
        'x-functions-key': key === 'master' ? this.keys.masterKey : this.keys.functionKey,
        'content-type': 'application/json',
      },
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
    });
    return { status: response.status, body: await response.text(), headers: response.headers };
  }

  /** SIGTERM (the host finishes what it runs, and writes its CPU profile), SIGKILL past the deadline. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** As a crash or an evicted instance would: nothing finishes. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  failure(what: string): Error {
    return new Error(`The ${this.label} ${what}. Its last lines:\n${this.tail.join('\n')}`);
  }
}
