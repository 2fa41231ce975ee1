/**
 * Keeps the error marks of one notebook: sets them after an error reply,
 * re-applies them when a cell editor is (re)created, and clears them when the
 * cell is edited, run again or its outputs are cleared.
 */
import type { Cell, CodeCell } from '@jupyterlab/cells';
import type { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { NotebookActions } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

import type { IErrorMark } from './highlight';
import { showErrorMarks } from './highlight';
import { marksFromReply } from './locations';

/**
 * The marks of one error, and the cell whose run made them.
 */
interface IErrorRecord {
  origin: string;
  marks: Map<string, IErrorMark[]>;
}

export class NotebookErrorMarks implements IDisposable {
  /**
   * @param panel The notebook to watch.
   */
  constructor(panel: NotebookPanel) {
    this._panel = panel;
    const { sessionContext, content } = panel;
    sessionContext.kernelChanged.connect(this._onKernelChanged, this);
    this._onKernelChanged();
    NotebookActions.executionScheduled.connect(this._onScheduled, this);
    content.model?.cells.changed.connect(() => this._watchCells());
    this._watchCells();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._kernel?.anyMessage.disconnect(this._onMessage, this);
    NotebookActions.executionScheduled.disconnect(this._onScheduled, this);
  }

  private _onKernelChanged(): void {
    this._kernel?.anyMessage.disconnect(this._onMessage, this);
    this._kernel = this._panel.sessionContext.session?.kernel ?? null;
    this._kernel?.anyMessage.connect(this._onMessage, this);
  }

  private _onMessage(_: Kernel.IKernelConnection, args: Kernel.IAnyMessageArgs): void {
    const msg = args.msg as KernelMessage.IMessage;
    if (args.direction !== 'recv' || msg.header.msg_type !== 'execute_reply') {
      return;
    }
    const content = msg.content as any;
    if (content.status !== 'error') {
      return;
    }
    const cell = this._cellOfRequest((msg.parent_header as any).msg_id);
    if (!cell) {
      return;
    }
    this._record(cell, content);
  }

  /**
   * The code cell whose current run sent the request `msgId`.
   */
  private _cellOfRequest(msgId: string): CodeCell | null {
    for (const cell of this._panel.content.widgets) {
      if (cell.model.type === 'code') {
        const future = (cell as CodeCell).outputArea.future;
        if (future && future.msg.header.msg_id === msgId) {
          return cell as CodeCell;
        }
      }
    }
    return null;
  }

  private _record(cell: CodeCell, reply: any): void {
    const origin = cell.model.id;
    this._clearFrom(origin);
    const record: IErrorRecord = { origin, marks: new Map() };
    const groups = marksFromReply(reply, origin, cell.model.executionCount);
    for (const group of groups) {
      const target = this._findCell(group.cellId, group.executionCount);
      if (target) {
        record.marks.set(target.model.id, group.marks);
      }
    }
    this._records.set(origin, record);
    this._applyAll();
    const primary = [...record.marks.entries()].find(([, marks]) =>
      marks.some((m) => m.kind === 'primary'),
    );
    if (primary) {
      const target = this._findCell(primary[0], null);
      if (target) {
        void this._panel.content.scrollToCell(target);
      }
    }
    requestAnimationFrame(() => this._linkTraceback(cell));
  }

  private _findCell(cellId: string | null, executionCount: number | null): Cell | null {
    for (const cell of this._panel.content.widgets) {
      if (cellId !== null && cell.model.id === cellId) {
        return cell;
      }
      if (
        cellId === null &&
        executionCount !== null &&
        cell.model.type === 'code' &&
        (cell as CodeCell).model.executionCount === executionCount
      ) {
        return cell;
      }
    }
    return null;
  }

  /**
   * Forget the marks of the error that a cell's run made.
   */
  private _clearFrom(origin: string): void {
    if (this._records.delete(origin)) {
      this._applyAll();
    }
  }

  /**
   * Forget marks inside a cell (it was edited): its own error and marks that
   * other errors put there.
   */
  private _clearIn(cellId: string): void {
    let changed = this._records.delete(cellId);
    for (const record of this._records.values()) {
      changed = record.marks.delete(cellId) || changed;
    }
    if (changed) {
      this._applyAll();
    }
  }

  /**
   * Give every cell editor the marks it should show now.
   */
  private _applyAll(): void {
    for (const cell of this._panel.content.widgets) {
      this._apply(cell);
    }
  }

  private _apply(cell: Cell): void {
    const view = (cell.editor as CodeMirrorEditor | null)?.editor;
    if (!view) {
      return; // not rendered yet (windowed notebook): applied when it is
    }
    const marks: IErrorMark[] = [];
    for (const record of this._records.values()) {
      marks.push(...(record.marks.get(cell.model.id) ?? []));
    }
    showErrorMarks(view, marks);
  }

  private _onScheduled(_: unknown, args: { notebook: unknown; cell: Cell }): void {
    if (args.notebook === this._panel.content) {
      this._clearFrom(args.cell.model.id);
    }
  }

  /**
   * Follow each cell: edits and cleared outputs remove marks; a new or
   * re-created editor gets its marks.
   */
  private _watchCells(): void {
    for (const cell of this._panel.content.widgets) {
      if (this._watched.has(cell)) {
        continue;
      }
      this._watched.add(cell);
      const id = cell.model.id;
      // contentChanged also fires for outputs and the execution count: only
      // an edit of the source makes the marks stale
      cell.model.sharedModel.changed.connect((_, change) => {
        if (change.sourceChange) {
          this._clearIn(id);
        }
      });
      if (cell.model.type === 'code') {
        (cell as CodeCell).model.outputs.changed.connect((outputs) => {
          if (outputs.length === 0) {
            this._clearFrom(id);
          }
        });
      }
      cell.inViewportChanged.connect(() => this._apply(cell));
      void cell.ready.then(() => this._apply(cell));
    }
  }

  /**
   * Make the `Cell In[N], line L` headers of the traceback links to that line.
   * The coloured traceback splits a header over several spans, so the match
   * is found in the text of each block and wrapped as a DOM range.
   */
  private _linkTraceback(cell: CodeCell): void {
    for (const pre of cell.outputArea.node.querySelectorAll('pre')) {
      if (pre.querySelector('a.jp-stream-traceback-link')) {
        continue;
      }
      const matches = [...(pre.textContent ?? '').matchAll(Private.CELL_HEADER)];
      for (const match of matches.reverse()) {
        const range = Private.rangeOf(pre, match.index ?? 0, match[0].length);
        if (!range) {
          continue;
        }
        const link = document.createElement('a');
        link.className = 'jp-stream-traceback-link';
        link.href = '#';
        link.appendChild(range.extractContents());
        range.insertNode(link);
        const [count, line] = [Number(match[1]), Number(match[2])];
        link.addEventListener('click', (event) => {
          event.preventDefault();
          this._jumpTo(count, line);
        });
      }
    }
  }

  private _jumpTo(executionCount: number, line: number): void {
    const target = this._findCell(null, executionCount);
    if (!target) {
      return;
    }
    const notebook = this._panel.content;
    notebook.activeCellIndex = notebook.widgets.indexOf(target);
    void notebook.scrollToCell(target);
    target.editor?.setCursorPosition({ line: line - 1, column: 0 });
    target.editor?.focus();
  }

  private _panel: NotebookPanel;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _records = new Map<string, IErrorRecord>();
  private _watched = new WeakSet<Cell>();
  private _isDisposed = false;
}

namespace Private {
  export const CELL_HEADER = /Cell In\s*\[(\d+)\],\s*line (\d+)/g;

  /**
   * The DOM range of `length` characters from `offset` in the text of `root`.
   */
  export function rangeOf(root: Node, offset: number, length: number): Range | null {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let seen = 0;
    let started = false;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const size = node.textContent?.length ?? 0;
      if (!started && offset < seen + size) {
        range.setStart(node, offset - seen);
        started = true;
      }
      if (started && offset + length <= seen + size) {
        range.setEnd(node, offset + length - seen);
        return range;
      }
      seen += size;
    }
    return null;
  }
}
