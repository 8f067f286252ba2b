import { readdirSync, readFileSync } from 'node:fs';
import type { AzuriteInstance } from '../local/azurite';

/** What the benchmarks read of the processes they start, from /proc (Linux). */

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat (in clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state first, utime and stime 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The Azurite process of this world, found by its table port on its command line. */
export function azuritePid(azurite: AzuriteInstance): number {
  const port = `\0${azurite.ports.table}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    if (command.includes('azurite') && command.includes(port)) return Number(entry);
  }
  throw new Error(`No Azurite process with table port ${azurite.ports.table} in /proc.`);
}

/** Wall time, CPU seconds, and CPU milliseconds per operation of the host, Azurite and this process. */
export class CpuMeter {
  constructor(
    private readonly host: { cpuSeconds(): number },
    private readonly azurite: number,
  ) {}

  async measure<T>(operations: number, run: () => Promise<T>) {
    const before = this.sample();
    const started = performance.now();
    const result = await run();
    const seconds = (performance.now() - started) / 1000;
    const after = this.sample();
    const used = (key: keyof typeof before) => after[key] - before[key];
    const perOp = (key: keyof typeof before) =>
      operations > 0 ? Math.round((used(key) * 1e6) / operations) / 1000 : 0;
    const two = (value: number) => Math.round(value * 100) / 100;
    return {
      result,
      seconds,
      cpuSeconds: { host: two(used('host')), azurite: two(used('azurite')), bench: two(used('bench')) },
      cpuMsPerOp: { host: perOp('host'), azurite: perOp('azurite'), bench: perOp('bench') },
    };
  }

  private sample() {
    const own = process.cpuUsage();
    return {
      host: this.host.cpuSeconds(),
      azurite: cpuSeconds(this.azurite),
      bench: (own.user + own.system) / 1e6,
    };
  }
}
