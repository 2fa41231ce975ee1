/**
 * The mark on a file the student changed, in the file browser: the CSS class
 * `jp-stream-modified` and a line in the item's tooltip. Drawn by the default
 * file browser's listing renderer (JupyterLab's IDefaultFileBrowserRenderer),
 * so it follows every re-render of the listing.
 */
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import { DirListing } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { nullTranslator } from '@jupyterlab/translation';

/**
 * The class of a changed file's item (stable: docs and tests use it).
 */
export const MODIFIED_CLASS = 'jp-stream-modified';
/**
 * Added too when the teacher published a new version since.
 */
export const UPDATED_CLASS = 'jp-stream-updated';

/**
 * How a path is marked: changed by the student, and maybe updated by the
 * teacher since.
 */
export type Mark = 'changed' | 'updated';

/**
 * The marks of the paths shown, set by the `original` plugin.
 */
export class FileMarks {
  /**
   * Translate the tooltip with this translator (set once it is known).
   */
  set translator(translator: ITranslator) {
    this._trans = translator.load('jupyterlite_stream');
    this._redraw();
  }

  get(path: string): Mark | null {
    return this._marks.get(path) ?? null;
  }

  set(path: string, mark: Mark | null): void {
    if ((this._marks.get(path) ?? null) === mark) {
      return;
    }
    if (mark) {
      this._marks.set(path, mark);
    } else {
      this._marks.delete(path);
    }
    this._redraw();
  }

  /**
   * Put the mark of `path` on its item node (or take it away).
   */
  apply(node: HTMLElement, path: string): void {
    this._nodes.set(node, path);
    const mark = this.get(path);
    node.classList.toggle(MODIFIED_CLASS, !!mark);
    node.classList.toggle(UPDATED_CLASS, mark === 'updated');
    // the listing rewrites the tooltip only when the item changed: take our
    // line off before adding the current one
    const previous = this._tips.get(node);
    let title = node.title;
    if (previous && title.endsWith(previous)) {
      title = title.slice(0, title.length - previous.length);
    }
    const tip = mark ? `\n${this._tooltip(mark)}` : '';
    node.title = title + tip;
    this._tips.set(node, tip);
  }

  private _tooltip(mark: Mark): string {
    const trans = this._trans;
    const changed = trans.__(
      "You changed this file: your copy is kept in this browser. Right-click, Reset to the Teacher's Version, to get the teacher's back (yours is kept as a copy).",
    );
    return mark === 'updated'
      ? `${changed}\n${trans.__('The teacher has published a new version of it since.')}`
      : changed;
  }

  /**
   * Marks changed: draw them on the item nodes on the page.
   */
  private _redraw(): void {
    for (const [node, path] of this._nodes) {
      if (node.isConnected) {
        this.apply(node, path);
      } else {
        this._nodes.delete(node);
      }
    }
  }

  private _marks = new Map<string, Mark>();
  private _nodes = new Map<HTMLElement, string>();
  private _tips = new WeakMap<HTMLElement, string>();
  private _trans: TranslationBundle = nullTranslator.load('jupyterlite_stream');
}

/**
 * JupyterLab's listing renderer, with the marks added to each item.
 */
export class MarkingRenderer extends DirListing.Renderer {
  /**
   * @param marks Where the marks are read.
   */
  constructor(marks: FileMarks) {
    super();
    this._marks = marks;
  }

  updateItemNode(
    node: HTMLElement,
    model: Contents.IModel,
    fileType?: DocumentRegistry.IFileType,
    ...rest: any[]
  ): void {
    (super.updateItemNode as (...args: any[]) => void)(node, model, fileType, ...rest);
    this._marks.apply(node, model.path);
  }

  private _marks: FileMarks;
}
