/** Loggers for tests: the domain's port over an array of entries, or of JSON lines. */
import { loggerOver, type LogEntry, type Logger } from '../../functions/domain/ports';

/** Keeps every line as `{ level, message, ...data }`, for tests to read. */
export function recordingLogger(lines: LogEntry[] = []): Logger & { lines: LogEntry[] } {
  return { ...loggerOver((entry) => void lines.push(entry)), lines };
}

/** Writes each line as JSON, as the local runtime prints it. */
export function jsonLinesLogger(write: (line: string) => void): Logger {
  return loggerOver((entry) => write(JSON.stringify(entry)));
}
