import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

/** The first executable file named `name` in `dirs` (PATH's folders), or undefined. */
export function findOnPath(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Where the shell would find the program of a command line such as `node agent.js --x` or
 * `FOO=1 ./run.sh`: the first word after any variable assignments, searched on PATH unless it
 * names a path. Undefined when it is not found or not executable.
 */
export function findProgram(commandLine: string, dirs: readonly string[], cwd: string): { program: string; path: string | undefined } {
  const words = commandLine.trim().split(/\s+/);
  const program = (words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) ?? '').replace(/^['"]|['"]$/g, '');
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(cwd, program);
    return { program, path: isExecutableFile(path) ? path : undefined };
  }
  return { program, path: program === '' ? undefined : findOnPath(program, dirs) };
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
