import { readFileSync } from 'node:fs';

/**
 * When the OS started a process (Linux: field 22 of /proc/<pid>/stat, in clock ticks since
 * boot), or null where that cannot be read. Together with the pid it names one process: a pid
 * alone may have been reused by an unrelated program.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is `pid` still the process that started at `start`? Without a recorded start, trust the pid. */
export function isSameProcess(pid: number, start: string | null): boolean {
  if (!isAlive(pid)) return false;
  if (start === null) return true;
  const now = processStartTime(pid);
  return now === null || now === start;
}

/** Signals a whole process group (agents run in their own); false when it is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}
