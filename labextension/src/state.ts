/**
 * Export and import of the kernel's state as one file: the commands, the
 * download, the file picker and the dialogs around them. The work itself is
 * done in the kernel (jupyterlite_stream.runtime.state).
 */
import {
  Dialog,
  Notification,
  showDialog,
  showErrorMessage,
} from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IKernelClient } from '@jupyterlite/services';
import { Widget } from '@lumino/widgets';

import { downloadZip } from './download';
import { IStreamKernel } from './tokens';

/**
 * The command ids (stable: docs and tests use them).
 */
export namespace CommandIDs {
  export const exportState = 'jupyterlite-stream:export-state';
  export const importState = 'jupyterlite-stream:import-state';
}

/**
 * This browser's signing key: state files signed with it (exports and
 * checkpoints) restore here as trusted.
 */
export function signingKey(): string {
  return Private.signingKey();
}

/**
 * Export and import for the notebook in front.
 */
export class StateTransfer {
  /**
   * @param options What the commands need.
   */
  constructor(options: StateTransfer.IOptions) {
    this._options = options;
  }

  /**
   * Download the kernel's state as `<notebook>-state-<date>.zip`.
   */
  async exportState(): Promise<void> {
    const { trans } = this._options;
    const target = await this._target();
    if (!target) {
      return;
    }
    try {
      const { data, report } = await target.kernel.exportState(Private.signingKey());
      downloadZip(data, Private.fileName(target.panel));
      const parsed = JSON.parse(report);
      const skipped: Private.ISkip[] = parsed.skipped ?? [];
      Notification.success(
        trans.__(
          'State exported: %1 variables, %2 files.',
          parsed.variables.length,
          parsed.files.length,
        ),
        { autoClose: 5000 },
      );
      if (skipped.length) {
        await showDialog({
          title: trans.__('Some variables could not be saved'),
          body: Private.list(skipped.map((s) => `${s.name}: ${s.reason}`)),
          buttons: [Dialog.okButton()],
        });
      }
    } catch (error) {
      await showErrorMessage(trans.__('State export failed'), Private.reason(error));
    }
  }

  /**
   * Open the file picker at once, show what the chosen file holds, and
   * restore it after the user confirms.
   */
  async importState(): Promise<void> {
    const target = await this._target();
    if (!target) {
      return;
    }
    const file = await Private.pickFile();
    if (file) {
      await this._importFile(target.kernel, file);
    }
  }

  private async _importFile(kernel: IStreamKernel, file: File): Promise<void> {
    const { trans } = this._options;
    const data = new Uint8Array(await file.arrayBuffer());
    const key = Private.signingKey();
    let preview: Private.IPreview;
    try {
      preview = await kernel.previewState(data, key);
    } catch (error) {
      await showErrorMessage(
        trans.__('This state file cannot be imported'),
        trans.__('%1\nNothing was changed.', Private.reason(error)),
      );
      return;
    }
    const choice = await Private.confirmImport(preview, file.name, trans);
    if (!choice.restore) {
      return;
    }
    try {
      const report = await kernel.restoreState(data, choice.trust, key);
      const skipped: Private.ISkip[] = report.skipped ?? [];
      await showDialog({
        title: trans.__('State imported'),
        body: Private.list([
          trans.__(
            'Restored %1 variables and %2 files, skipped %3.',
            report.restored.length,
            report.files.length,
            skipped.length,
          ),
          ...skipped.map((s) => `${s.name}: ${s.reason}`),
        ]),
        buttons: [Dialog.okButton()],
      });
    } catch (error) {
      await showErrorMessage(
        trans.__('State import failed'),
        trans.__('%1\nNothing was changed.', Private.reason(error)),
      );
    }
  }

  /**
   * The notebook in front and its kernel, when it is one of ours.
   */
  private async _target(): Promise<{
    panel: NotebookPanel;
    kernel: IStreamKernel;
  } | null> {
    const { trans, currentPanel, kernelClient } = this._options;
    const panel = currentPanel();
    const id = panel?.sessionContext.session?.kernel?.id;
    const kernel = id ? await kernelClient.getModel(id) : undefined;
    if (!panel || !IStreamKernel.isStreamKernel(kernel)) {
      await showErrorMessage(
        trans.__('No kernel to save'),
        trans.__(
          'Open a notebook running the Python (Pyodide) kernel first. ' +
            'In other kernels, use %export_state and %import_state.',
        ),
      );
      return null;
    }
    if (kernel.isExecuting) {
      await showErrorMessage(
        trans.__('A cell is running'),
        trans.__('Wait until it finishes (or stop it), then try again.'),
      );
      return null;
    }
    return { panel, kernel };
  }

  private _options: StateTransfer.IOptions;
}

/**
 * The statics of StateTransfer.
 */
export namespace StateTransfer {
  export interface IOptions {
    currentPanel: () => NotebookPanel | null;
    kernelClient: IKernelClient;
    trans: TranslationBundle;
  }
}

namespace Private {
  export interface ISkip {
    name: string;
    reason: string;
  }

  export interface IPreview {
    created: string;
    python: string;
    pyodide: string | null;
    variables: { name: string; type: string; storage: string }[];
    files: { path: string; size: number }[];
    packages: { name: string; version?: string }[];
    skipped: ISkip[];
    needs_code: boolean;
    /** The variables whose loading runs code (loaded only with trust). */
    needs_trust?: string[];
    trusted: boolean;
  }

  /**
   * This browser's signing key (kept in local storage): files exported here
   * import as trusted here, without the warning.
   */
  export function signingKey(): string {
    const name = 'jupyterlite-stream:state-signing-key';
    let key = localStorage.getItem(name);
    if (!key) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      key = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(name, key);
    }
    return key;
  }

  export function fileName(panel: NotebookPanel): string {
    const stem = panel.context.path
      .split('/')
      .pop()!
      .replace(/\.ipynb$/, '');
    const date = new Date().toISOString().slice(0, 10);
    return `${stem}-state-${date}.zip`;
  }

  /**
   * Open the browser's file picker; resolves with the file, or null.
   */
  export function pickFile(): Promise<File | null> {
    return new Promise((resolve) => {
      const input = document.createElement('input');
      input.type = 'file';
      input.accept = '.zip,application/zip';
      input.hidden = true;
      // attached while the picker is open: some browsers (and test drivers)
      // only deliver the chosen file to an input in the document
      document.body.appendChild(input);
      const done = (file: File | null) => {
        input.remove();
        resolve(file);
      };
      input.addEventListener('change', () => done(input.files?.[0] ?? null));
      input.addEventListener('cancel', () => done(null));
      input.click();
    });
  }

  export function reason(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    // a Python error arrives with its traceback: the last line says it
    const lines = text.trim().split('\n');
    return lines[lines.length - 1];
  }

  export function list(items: string[]): Widget {
    const node = document.createElement('ul');
    node.className = 'jp-stream-state-list';
    for (const item of items) {
      const li = document.createElement('li');
      li.textContent = item;
      node.appendChild(li);
    }
    return new Widget({ node });
  }

  /**
   * One line per variable that needs trust, saying why: a module import
   * runs the module, other objects run code from the file.
   */
  export function needsTrust(preview: IPreview, trans: TranslationBundle): string[] {
    const storage = new Map(preview.variables.map((v) => [v.name, v.storage]));
    return (preview.needs_trust ?? []).map((name) =>
      storage.get(name) === 'module-import'
        ? trans.__('%1: a module import (importing runs the module)', name)
        : trans.__('%1: an object whose loading runs code', name),
    );
  }

  /**
   * Show what the file holds and ask whether to restore it (and whether to
   * trust its code objects, when it has some and is not signed here).
   */
  export async function confirmImport(
    preview: IPreview,
    name: string,
    trans: TranslationBundle,
  ): Promise<{ restore: boolean; trust: boolean }> {
    const node = document.createElement('div');
    node.className = 'jp-stream-state-preview';
    const origin = [
      trans.__(
        'Saved %1 with Python %2',
        preview.created,
        preview.python.split(' ')[0],
      ),
      preview.pyodide ? trans.__('Pyodide %1', preview.pyodide) : '',
      preview.trusted ? trans.__('exported from this browser') : '',
    ].filter(Boolean);
    const heading = document.createElement('p');
    heading.textContent = origin.join(', ');
    node.appendChild(heading);
    const sections: [string, string[]][] = [
      [
        trans.__('Variables'),
        preview.variables.map((v) => `${v.name} (${v.type}, ${v.storage})`),
      ],
      [
        trans.__('Needs trust: loading these runs code from the file'),
        preview.trusted ? [] : needsTrust(preview, trans),
      ],
      [trans.__('Files'), preview.files.map((f) => `${f.path} (${f.size} bytes)`)],
      [trans.__('Packages'), preview.packages.map((p) => p.name)],
      [
        trans.__('Not in the file'),
        preview.skipped.map((s) => `${s.name}: ${s.reason}`),
      ],
    ];
    for (const [title, items] of sections) {
      if (items.length) {
        const h = document.createElement('h4');
        h.textContent = title;
        node.appendChild(h);
        node.appendChild(list(items).node);
      }
    }
    let trust: HTMLInputElement | null = null;
    if (preview.needs_code && !preview.trusted) {
      const label = document.createElement('label');
      label.className = 'jp-stream-state-trust';
      trust = document.createElement('input');
      trust.type = 'checkbox';
      label.appendChild(trust);
      label.appendChild(
        document.createTextNode(
          trans.__(
            ' Also restore functions, classes, module imports and other objects. ' +
              'Loading them runs ' +
              'code from the file: only do this for files from someone you trust. ' +
              'Without it, only plain data is restored.',
          ),
        ),
      );
      node.appendChild(label);
    }
    const result = await showDialog({
      title: trans.__('Import state from %1?', name),
      body: new Widget({ node }),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Restore') })],
    });
    return { restore: result.button.accept, trust: !!trust?.checked };
  }
}
