import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * Whether any process of the group led by `pid` still runs (a finished leader's children count).
 * Zombies do not: an orphan that has exited waits for init to reap it, which some container
 * inits do only every second or so, and it can no longer do anything.
 */
export function isGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Where /proc shows none of them (another pid namespace, hidepid), the kill's answer stands.
  const states = groupStates(pid);
  return states === null || states.length === 0 || states.some((state) => state !== 'Z' && state !== 'X');
}

/** The states (field 3 of /proc/<pid>/stat) of the group's processes; null where /proc cannot be read. */
function groupStates(pgid: number): string[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const states: string[] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== undefined) states.push(state);
    } catch {
      // It ended while we looked.
    }
  }
  return states;
}
