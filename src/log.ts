// Logs go to stderr: stdout belongs to the MCP transport and to command output.
const write = (level: string, message: string, detail?: unknown): void => {
  const suffix = detail === undefined ? '' : ` ${detail instanceof Error ? (detail.stack ?? detail.message) : JSON.stringify(detail)}`;
  process.stderr.write(`meshfleet ${level}: ${message}${suffix}\n`);
};

export const log = {
  info: (message: string, detail?: unknown) => write('info', message, detail),
  warn: (message: string, detail?: unknown) => write('warn', message, detail),
  error: (message: string, detail?: unknown) => write('error', message, detail),
};
