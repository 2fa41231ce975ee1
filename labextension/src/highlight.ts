/**
 * Error line highlighting in the cell editors (CodeMirror 6).
 *
 * After an exception, the line that raised gets `jp-stream-error-line` (and
 * the expression span `jp-stream-error-span` where Python knows it); lines in
 * other cells on the way get `jp-stream-error-frame`. The kernel of this
 * package sends the places as `error_locations` in the execute reply; with
 * other kernels (ipykernel) they are parsed from the traceback text.
 */
import type { Extension, Text } from '@codemirror/state';
import { RangeSet, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import type { DecorationSet } from '@codemirror/view';
import {
  Decoration,
  EditorView,
  GutterMarker,
  gutterLineClass,
} from '@codemirror/view';

/**
 * One place to mark in one cell.
 */
export interface IErrorMark {
  /**
   * `primary`: where the executed cell raised; `frame`: a line on the way.
   */
  kind: 'primary' | 'frame';
  /**
   * 1-based line numbers.
   */
  line: number;
  endLine: number;
  /**
   * 0-based columns of the expression span on `line`, when known.
   */
  column: number | null;
  endColumn: number | null;
  /**
   * What hovering the line shows (`ZeroDivisionError: division by zero`).
   */
  message: string;
}

/**
 * The CSS classes docs and tests rely on.
 */
export namespace ErrorClasses {
  export const line = 'jp-stream-error-line';
  export const frame = 'jp-stream-error-frame';
  export const span = 'jp-stream-error-span';
  export const gutter = 'jp-stream-error-gutter';
}

/**
 * Replace the marks of an editor (an empty list clears them).
 */
export const setErrorMarks = StateEffect.define<IErrorMark[]>();

/**
 * The editor extension: every cell editor gets it once, through the
 * editor extension registry.
 */
export function errorHighlightExtension(): Extension {
  return [errorField, gutterLineClass.from(errorField, (value) => value.gutter)];
}

/**
 * Apply marks to a CodeMirror view.
 */
export function showErrorMarks(view: EditorView, marks: IErrorMark[]): void {
  view.dispatch({ effects: setErrorMarks.of(marks) });
}

interface IErrorState {
  decorations: DecorationSet;
  gutter: RangeSet<GutterMarker>;
}

const EMPTY: IErrorState = { decorations: Decoration.none, gutter: RangeSet.empty };

const errorField = StateField.define<IErrorState>({
  create: () => EMPTY,
  update(value, tr) {
    for (const effect of tr.effects) {
      if (effect.is(setErrorMarks)) {
        return Private.build(tr.state.doc, effect.value);
      }
    }
    // any edit of the cell makes the old error places meaningless
    return tr.docChanged ? EMPTY : value;
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.decorations),
});

namespace Private {
  class ErrorGutterMarker extends GutterMarker {
    elementClass = ErrorClasses.gutter;
  }
  const gutterMarker = new ErrorGutterMarker();

  /**
   * Decorations for the marks, clamped to the document (an "incomplete
   * input" error can point one line past the end).
   */
  export function build(doc: Text, marks: IErrorMark[]): IErrorState {
    const ranges: { from: number; to: number; deco: Decoration }[] = [];
    const gutter = new RangeSetBuilder<GutterMarker>();
    const sorted = [...marks].sort((a, b) => a.line - b.line);
    for (const mark of sorted) {
      const first = clampLine(doc, mark.line);
      const last = Math.max(first, clampLine(doc, mark.endLine));
      const cls = mark.kind === 'primary' ? ErrorClasses.line : ErrorClasses.frame;
      for (let n = first; n <= last; n++) {
        const line = doc.line(n);
        const deco = Decoration.line({
          class: cls,
          attributes: { title: mark.message },
        });
        ranges.push({ from: line.from, to: line.from, deco });
        gutter.add(line.from, line.from, gutterMarker);
      }
      const span = spanOf(doc, mark, first);
      if (span) {
        ranges.push({ ...span, deco: Decoration.mark({ class: ErrorClasses.span }) });
      }
    }
    ranges.sort((a, b) => a.from - b.from || a.to - b.to);
    return {
      decorations: Decoration.set(
        ranges.map((r) => r.deco.range(r.from, r.to)),
        true,
      ),
      gutter: gutter.finish(),
    };
  }

  function clampLine(doc: Text, line: number): number {
    return Math.min(Math.max(1, line), doc.lines);
  }

  function spanOf(doc: Text, mark: IErrorMark, lineNumber: number) {
    if (mark.column === null || mark.column === undefined) {
      return null;
    }
    const line = doc.line(lineNumber);
    const from = line.from + Math.min(mark.column, line.length);
    const sameLine = mark.endLine === mark.line;
    const endColumn =
      sameLine && mark.endColumn !== null && mark.endColumn > mark.column
        ? mark.endColumn
        : line.length;
    const to = line.from + Math.min(endColumn, line.length);
    return to > from ? { from, to } : null;
  }
}
