/**
 * Turn an error reply into marks per cell: from the structured
 * `error_locations` this package's kernel sends, or, for other kernels, from
 * the `Cell In[N], line L` headers of the traceback text.
 */
import type { IErrorMark } from './highlight';

/**
 * A place as the kernel sends it (see jupyterlite_stream/runtime/locations.py).
 */
export interface IKernelLocation {
  kind: 'primary' | 'frame';
  cell_id: string | null;
  execution_count: number;
  line: number;
  end_line: number;
  column: number | null;
  end_column: number | null;
}

/**
 * Where marks go: a cell, named by id, or by execution count when the kernel
 * could not know the id.
 */
export interface ICellMarks {
  cellId: string | null;
  executionCount: number | null;
  marks: IErrorMark[];
}

/**
 * The marks of an error reply, grouped by cell.
 *
 * @param reply The execute reply content (status `error`).
 * @param executedCellId The id of the cell that ran.
 * @param executedCount Its execution count, for traceback parsing.
 */
export function marksFromReply(
  reply: {
    ename?: string;
    evalue?: string;
    traceback?: string[];
    error_locations?: IKernelLocation[];
  },
  executedCellId: string,
  executedCount: number | null,
): ICellMarks[] {
  const message = `${reply.ename ?? 'Error'}: ${reply.evalue ?? ''}`;
  const locations = reply.error_locations;
  const places = Array.isArray(locations)
    ? locations.map((l) => ({
        ...l,
        cell_id: l.kind === 'primary' ? (l.cell_id ?? executedCellId) : l.cell_id,
      }))
    : parseTraceback(reply.traceback ?? [], executedCount, executedCellId);
  const groups = new Map<string, ICellMarks>();
  for (const place of places) {
    const key = place.cell_id ?? `#${place.execution_count}`;
    const group = groups.get(key) ?? {
      cellId: place.cell_id,
      executionCount: place.execution_count,
      marks: [],
    };
    group.marks.push({
      kind: place.kind,
      line: place.line,
      endLine: place.end_line,
      column: place.column,
      endColumn: place.end_column,
      message,
    });
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Remove ANSI colour codes (IPython colours its tracebacks).
 */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

/**
 * Places from the `Cell In[N], line L` headers of a traceback: the last one
 * in the executed cell is primary, the others are frames.
 */
export function parseTraceback(
  traceback: string[],
  executedCount: number | null,
  executedCellId: string,
): IKernelLocation[] {
  const text = stripAnsi(traceback.join('\n'));
  const found: { count: number; line: number }[] = [];
  for (const match of text.matchAll(/Cell In\s*\[(\d+)\],\s*line (\d+)/g)) {
    found.push({ count: Number(match[1]), line: Number(match[2]) });
  }
  if (!found.length) {
    return [];
  }
  const inExecuted = found.filter((f) => f.count === executedCount);
  const primary = inExecuted.length
    ? inExecuted[inExecuted.length - 1]
    : found[found.length - 1];
  return found.map((f) => {
    const isPrimary = f === primary;
    return {
      kind: isPrimary ? 'primary' : 'frame',
      cell_id: isPrimary ? executedCellId : null,
      execution_count: f.count,
      line: f.line,
      end_line: f.line,
      column: null,
      end_column: null,
    };
  });
}
