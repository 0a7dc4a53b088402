// The database files this process holds open, by device and inode. SQLite's locks on a file are
// POSIX advisory locks, which belong to the process: when any descriptor of the file closes, the
// process loses every lock it holds on it. SQLite's own connections coordinate so that does not
// happen; Meshfleet's check of a file's header before SQLite touches it (adoption.ts) opens and
// closes a descriptor of its own, which would drop the locks of a connection this process already
// has on the file. Another process (a `sqlite3` that reads and exits, say) could then take the file
// as unused and delete its -wal under that connection. A file already open here was checked when
// it was first opened, so the check is skipped for it. The rule this keeps: nothing in a process
// that has a store on a file opens that file (or its -wal) by any other means than SQLite while
// the store is open; only stores made by openStore are counted here.
import { statSync } from 'node:fs';

const open = new Map<string, number>();

const keyOf = (path: string): string | undefined => {
  try {
    const stat = statSync(path);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
};

/** Whether this process already holds a connection to the file at `path`. */
export function isOpenHere(path: string): boolean {
  const key = keyOf(path);
  return key !== undefined && (open.get(key) ?? 0) > 0;
}

/** Counts a connection to the file at `path`; the function returned uncounts it (once). */
export function holdOpen(path: string): () => void {
  const key = keyOf(path);
  if (key === undefined) return () => undefined;
  open.set(key, (open.get(key) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (open.get(key) ?? 1) - 1;
    if (left > 0) open.set(key, left);
    else open.delete(key);
  };
}
