/**
 * Original and mine: the plugins that show the student which files they
 * changed, bring the teacher's version back (keeping theirs as a copy), tell
 * them when the teacher published a new version, open a notebook as the
 * teacher wrote it by link (`?path=...&fresh=1`) and download their work.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  showErrorMessage,
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import type { FileBrowser } from '@jupyterlab/filebrowser';
import {
  IDefaultFileBrowser,
  IDefaultFileBrowserRenderer,
} from '@jupyterlab/filebrowser';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { downloadIcon, undoIcon } from '@jupyterlab/ui-components';
import { IKernelClient } from '@jupyterlite/services';

import type { Mark } from './filemarks';
import { FileMarks, MarkingRenderer } from './filemarks';
import type { IKernelStateFile } from './handin';
import { downloadZip } from './download';
import { packWork } from './handin';
import type { IOriginStatus } from './origins';
import { Originals } from './origins';
import { IStreamKernel } from './tokens';

/**
 * The command ids (stable: docs and tests use them).
 */
export namespace CommandIDs {
  export const resetToOriginal = 'jupyterlite-stream:reset-to-original';
  export const downloadMyWork = 'jupyterlite-stream:download-my-work';
}

/**
 * The URL parameter that opens the `path` notebooks as the teacher wrote them.
 */
export const FRESH_PARAMETER = 'fresh';

/**
 * The marks of the file browser, shared by the two plugins below.
 */
const marks = new FileMarks();

/**
 * The default file browser's listing renderer, which draws the marks.
 */
export const originalMarks: JupyterFrontEndPlugin<IDefaultFileBrowserRenderer> = {
  id: 'jupyterlite-stream:original-marks',
  description: 'Marks the files the student changed in the file browser.',
  autoStart: true,
  provides: IDefaultFileBrowserRenderer,
  activate: () => new MarkingRenderer(marks),
};

/**
 * Original and mine: marks, reset, the teacher's-update notice, fresh links
 * and Download My Work.
 */
export const original: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlite-stream:original',
  description: "The student's copies and the teacher's originals; handing work in.",
  autoStart: true,
  optional: [
    IDefaultFileBrowser,
    INotebookTracker,
    IDocumentManager,
    ITranslator,
    ICommandPalette,
    IMainMenu,
    IKernelClient,
  ],
  activate: activateOriginal,
};

/**
 * Wire the commands, the marks and the notice.
 *
 * @param app The application.
 * @param browser The file browser whose items get the marks.
 * @param tracker The notebooks, for the teacher's-update notice.
 * @param docManager The open documents, saved and reverted around a reset.
 * @param translator The UI strings' translator.
 * @param palette Where the commands are listed.
 * @param mainMenu Its File menu gets Download My Work.
 * @param kernelClient The kernels, whose state goes into Download My Work.
 */
async function activateOriginal(
  app: JupyterFrontEnd,
  browser: FileBrowser | null,
  tracker: INotebookTracker | null,
  docManager: IDocumentManager | null,
  translator: ITranslator | null,
  palette: ICommandPalette | null,
  mainMenu: IMainMenu | null,
  kernelClient: IKernelClient | null,
): Promise<void> {
  translator = translator ?? nullTranslator;
  const trans = translator.load('jupyterlite_stream');
  marks.translator = translator;
  const originals = new Originals(app.serviceManager.contents);
  const ui = new Private.Actions({
    app,
    originals,
    docManager,
    trans,
    tracker,
    kernelClient,
  });

  app.commands.addCommand(CommandIDs.resetToOriginal, {
    label: trans.__("Reset to the Teacher's Version"),
    caption: trans.__(
      "Bring back the teacher's version; yours is kept as a copy next to it",
    ),
    icon: undoIcon,
    // in the file browser's menu only on the files the student changed
    isVisible: (args) =>
      !args.selection || !!marks.get(Private.selected(browser) ?? ''),
    execute: async (args) => {
      const path =
        (args.path as string | undefined) ??
        (args.selection ? Private.selected(browser) : null) ??
        ui.currentPath();
      return path ? ui.reset(path) : null;
    },
  });
  app.commands.addCommand(CommandIDs.downloadMyWork, {
    label: (args) =>
      args.kernelState
        ? trans.__('Download My Work with Kernel State')
        : trans.__('Download My Work'),
    caption: trans.__(
      'Download every notebook and file you changed or created, in one zip file',
    ),
    icon: downloadIcon,
    // `{kernelState: true}`: with the kernel state file of each open notebook
    execute: (args) => ui.downloadWork(!!args.kernelState),
  });
  const category = trans.__('My Work');
  palette?.addItem({ command: CommandIDs.resetToOriginal, category });
  palette?.addItem({ command: CommandIDs.downloadMyWork, category });
  palette?.addItem({
    command: CommandIDs.downloadMyWork,
    category,
    args: { kernelState: true },
  });
  mainMenu?.fileMenu.addGroup([{ command: CommandIDs.downloadMyWork }], 50);
  app.contextMenu.addItem({
    command: CommandIDs.resetToOriginal,
    args: { selection: true },
    selector: '.jp-DirListing-item[data-isdir="false"]',
    rank: 60,
  });

  if (browser) {
    const refresh = Private.serialized(async () => {
      const files = Array.from(browser.model.items()).filter(
        (i) => i.type !== 'directory',
      );
      await Promise.all(
        files.map(async ({ path }) => {
          const status = await originals.status(path).catch(() => null);
          marks.set(path, Private.markOf(status));
        }),
      );
    });
    browser.model.refreshed.connect(refresh);
    originals.changed.connect(refresh);
    refresh();
  }
  tracker?.widgetAdded.connect((_, panel) => {
    void panel.context.ready.then(() => ui.noticeIfUpdated(panel));
  });
  // before the page opens `?path=`: the fresh copy must be in place first
  await ui.openFresh();
}

namespace Private {
  export interface IActionsOptions {
    app: JupyterFrontEnd;
    originals: Originals;
    docManager: IDocumentManager | null;
    trans: TranslationBundle;
    tracker: INotebookTracker | null;
    kernelClient: IKernelClient | null;
  }

  /**
   * What the commands and the notice do.
   */
  export class Actions {
    constructor(options: IActionsOptions) {
      this._options = options;
    }

    /**
     * The path of the document in front.
     */
    currentPath(): string | null {
      const { app, docManager } = this._options;
      const widget = app.shell.currentWidget;
      return (widget && docManager?.contextForWidget(widget)?.path) || null;
    }

    /**
     * Ask, keep the student's version as a backup, bring back the teacher's.
     * Returns the backup's path (null when nothing was done).
     */
    async reset(path: string): Promise<string | null> {
      const { originals, trans } = this._options;
      const name = PathExt.basename(path);
      const status = await originals.status(path);
      if (status.origin !== 'changed') {
        const body =
          status.origin === 'created'
            ? trans.__(
                '"%1" is a file of your own: there is no teacher\'s version of it.',
                name,
              )
            : trans.__(
                '"%1" is the teacher\'s version already: nothing to reset.',
                name,
              );
        await showDialog({
          title: trans.__("Reset to the Teacher's Version"),
          body,
          buttons: [Dialog.okButton()],
        });
        return null;
      }
      const answer = await showDialog({
        title: trans.__("Reset to the teacher's version?"),
        body: trans.__(
          'Your version of "%1" is kept as a copy next to it, "%2", and the teacher\'s version comes back.',
          name,
          PathExt.basename(await originals.backupPath(path)),
        ),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: trans.__("Reset to the teacher's version") }),
        ],
      });
      return answer.button.accept ? this.openTeacherVersion(path) : null;
    }

    /**
     * Keep the student's copy as a backup, bring back the teacher's version
     * and show it in the open document. Returns the backup's path.
     */
    async openTeacherVersion(path: string): Promise<string | null> {
      const { originals, trans } = this._options;
      const context = this._context(path);
      try {
        if (context?.model.dirty) {
          await context.save(); // what is on the screen is the student's version
        }
        const backup = await originals.restoreOriginal(path);
        await context?.revert();
        Notification.success(
          trans.__(
            'The teacher\'s version of "%1" is back. Yours is kept as "%2".',
            PathExt.basename(path),
            PathExt.basename(backup),
          ),
          { autoClose: 8000 },
        );
        return backup;
      } catch (error) {
        await showErrorMessage(
          trans.__("The teacher's version could not be brought back"),
          trans.__(
            'Nothing was deleted: %1',
            String((error as Error)?.message ?? error),
          ),
        );
        return null;
      }
    }

    /**
     * The notice on opening a notebook the student changed whose teacher's
     * version was updated since.
     */
    async noticeIfUpdated(panel: NotebookPanel): Promise<void> {
      const { originals, trans } = this._options;
      const path = panel.context.path;
      const status = await originals.status(path).catch(() => null);
      if (!status?.updated || status.origin !== 'changed' || this._noticed.has(path)) {
        return;
      }
      this._noticed.add(path);
      const done = () => this._noticed.delete(path);
      Notification.warning(
        trans.__(
          'The teacher has updated "%1" since you changed it. You are working on your version.',
          PathExt.basename(path),
        ),
        {
          autoClose: false,
          actions: [
            {
              label: trans.__("Open the teacher's new version"),
              caption: trans.__('Your version is kept as a copy next to it'),
              callback: () => void this.openTeacherVersion(path).finally(done),
            },
            {
              label: trans.__('Keep mine'),
              caption: trans.__(
                "Go on with your version; the teacher's stays in the site",
              ),
              callback: () => {
                originals.keepMine(path, status.teacherHash);
                done();
              },
            },
          ],
        },
      );
    }

    /**
     * `?path=x.ipynb&fresh=1`: open the teacher's version of each path; a
     * changed copy is kept as a backup first (never deleted).
     */
    async openFresh(): Promise<void> {
      const { app, originals, trans } = this._options;
      const url = new URL(window.location.href);
      const fresh = url.searchParams.get(FRESH_PARAMETER);
      if (fresh === null || fresh === '0' || fresh === 'false') {
        return;
      }
      const kept: [string, string][] = [];
      for (const path of url.searchParams.getAll('path')) {
        try {
          if ((await originals.status(path)).origin === 'changed') {
            kept.push([path, await originals.restoreOriginal(path)]);
          }
        } catch (error) {
          console.warn(`[jupyterlite-stream] ${FRESH_PARAMETER}: ${path}: ${error}`);
        }
      }
      // a reload of this page must not do it again
      url.searchParams.delete(FRESH_PARAMETER);
      window.history.replaceState(window.history.state, '', url.href);
      void app.restored.then(() => {
        for (const [path, backup] of kept) {
          Notification.info(
            trans.__(
              '"%1" is opened as the teacher wrote it. Your version is kept as "%2".',
              PathExt.basename(path),
              PathExt.basename(backup),
            ),
            { autoClose: 10000 },
          );
        }
      });
    }

    /**
     * Save what is open, then download the zip of the student's work (and
     * the open notebooks' kernel state, when asked).
     */
    async downloadWork(withKernelState: boolean): Promise<unknown> {
      const { originals, trans } = this._options;
      try {
        await this._saveOpenDocuments();
        const states = withKernelState ? await this._kernelStates() : [];
        const pack = await packWork(originals, states);
        if (!pack) {
          Notification.info(
            trans.__(
              'Nothing to download yet: you have not changed or created any file.',
            ),
            { autoClose: 8000 },
          );
          return null;
        }
        downloadZip(pack.data, pack.name);
        Notification.success(
          trans.__(
            'Downloaded %1 with %2 files.',
            pack.name,
            pack.manifest.files.length,
          ),
          { autoClose: 8000 },
        );
        return pack.manifest;
      } catch (error) {
        await showErrorMessage(
          trans.__('Your work could not be downloaded'),
          String((error as Error)?.message ?? error),
        );
        return null;
      }
    }

    /**
     * Save every open document with unsaved changes: the zip holds what the
     * student sees.
     */
    private async _saveOpenDocuments(): Promise<void> {
      const { app, docManager } = this._options;
      for (const widget of app.shell.widgets('main')) {
        const context = docManager?.contextForWidget(widget);
        if (context?.model.dirty && !context.model.readOnly) {
          await context.save();
        }
      }
    }

    /**
     * The kernel state of each open notebook whose kernel is ours and idle,
     * unsigned (a signature is for this browser only). A kernel that cannot
     * export is left out: the files are what is handed in.
     */
    private async _kernelStates(): Promise<IKernelStateFile[]> {
      const { tracker, kernelClient } = this._options;
      const states: IKernelStateFile[] = [];
      const panels: NotebookPanel[] = [];
      tracker?.forEach((panel) => panels.push(panel));
      for (const panel of panels) {
        const id = panel.sessionContext.session?.kernel?.id;
        const kernel = id ? await kernelClient?.getModel(id) : undefined;
        if (!IStreamKernel.isStreamKernel(kernel) || kernel.isExecuting) {
          continue;
        }
        try {
          const { data } = await kernel.exportState(null);
          states.push({ notebook: panel.context.path, data });
        } catch (error) {
          console.warn(
            `[jupyterlite-stream] Download My Work: no kernel state for ${panel.context.path}: ${error}`,
          );
        }
      }
      return states;
    }

    private _context(path: string) {
      const { docManager } = this._options;
      const widget = docManager?.findWidget(path);
      return widget ? docManager?.contextForWidget(widget) : undefined;
    }

    private _options: IActionsOptions;
    private _noticed = new Set<string>();
  }

  /**
   * The path of the file browser's selected item.
   */
  export function selected(browser: FileBrowser | null): string | null {
    const first = browser?.selectedItems().next();
    return first && !first.done ? first.value.path : null;
  }

  export function markOf(status: IOriginStatus | null): Mark | null {
    if (status?.origin !== 'changed') {
      return null;
    }
    return status.updated ? 'updated' : 'changed';
  }

  /**
   * `run` never twice at once: a call while it runs runs it once more after.
   */
  export function serialized(run: () => Promise<void>): () => void {
    let running: Promise<void> | null = null;
    let again = false;
    const start = (): void => {
      if (running) {
        again = true;
        return;
      }
      running = run()
        .catch((error) => console.warn(`[jupyterlite-stream] file marks: ${error}`))
        .finally(() => {
          running = null;
          if (again) {
            again = false;
            start();
          }
        });
    };
    return start;
  }
}
