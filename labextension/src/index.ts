import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
} from '@jupyterlab/codemirror';
import { PageConfig } from '@jupyterlab/coreutils';
import type { ILogPayload } from '@jupyterlab/logconsole';
import { ILoggerRegistry } from '@jupyterlab/logconsole';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import type { ServerConnection } from '@jupyterlab/services';
import { IServerSettings } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { downloadIcon, fileUploadIcon } from '@jupyterlab/ui-components';
import { IServiceWorkerManager } from '@jupyterlite/apputils';
import type { IKernel } from '@jupyterlite/services';
import { IKernelClient, IKernelSpecs } from '@jupyterlite/services';
import { Signal } from '@lumino/signaling';

import { Boot } from './boot';
import { StreamKernelClient } from './client';
import { NotebookErrorMarks } from './errormarks';
import { CommandIDs as StateCommandIDs, StateTransfer } from './state';
import {
  Checkpoints,
  CommandIDs as CheckpointCommandIDs,
  readCheckpointSettings,
} from './checkpoint';
import { CheckpointStatus } from './checkpointstatus';
import { errorHighlightExtension } from './highlight';
import { InterruptSignal } from './interrupt';
import { IsolationGuard, within } from './isolation';
import type { StreamKernel } from './kernel';
import { OfflineCopy } from './offline';
import { original, originalMarks } from './original';
import type { IInterruptStatus, InterruptSupport } from './tokens';
import { IInterruptStatus as IInterruptStatusToken } from './tokens';

export * from './tokens';

/**
 * The plugin ids, also the keys of `litePluginSettings` in jupyter-lite.json.
 */
namespace PluginIDs {
  export const kernel = 'jupyterlite-stream:kernel';
  export const kernelClient = 'jupyterlite-stream:kernel-client';
  export const interruptNotice = 'jupyterlite-stream:interrupt-notice';
  export const isolation = 'jupyterlite-stream:isolation';
  export const errorHighlight = 'jupyterlite-stream:error-highlight';
  export const state = 'jupyterlite-stream:state';
  export const offline = 'jupyterlite-stream:offline';
  export const checkpoint = 'jupyterlite-stream:checkpoint';
  export const checkpointStatus = 'jupyterlite-stream:checkpoint-status';
}

/**
 * Registers our kernel as `python` and tells other plugins what Stop can do.
 */
const kernel: JupyterFrontEndPlugin<IInterruptStatus> = {
  id: PluginIDs.kernel,
  description: 'The Pyodide kernel of jupyterlite-stream, with real interrupts.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [IServiceWorkerManager, ILoggerRegistry],
  provides: IInterruptStatusToken,
  activate: activateKernel,
};

/**
 * Register the kernel spec.
 *
 * @param app The application.
 * @param kernelspecs The lite kernel spec registry.
 * @param serviceWorkerManager The service worker that relays drive and stdin.
 * @param loggerRegistry Where kernel start-up problems are logged.
 */
function activateKernel(
  app: JupyterFrontEnd,
  kernelspecs: IKernelSpecs,
  serviceWorkerManager: IServiceWorkerManager | null,
  loggerRegistry: ILoggerRegistry | null,
): IInterruptStatus {
  const settings = Private.readSettings();
  // The first kernel's worker boots while the rest of the page loads. Not
  // before the service worker controls the page: a worker started earlier is
  // never controlled, and its drive and input() requests would miss it.
  const serviceWorkerReady = serviceWorkerManager
    ? within(serviceWorkerManager.ready, SERVICE_WORKER_WAIT_MS)
    : Promise.resolve();
  let prestarted: Promise<StreamKernel.IPrestarted> | null = null;
  const early = Boot.closeEarlyStart();
  if (early) {
    // the HTML page started it already (early.ts), under the service worker
    prestarted = import('./kernel').then(
      ({ StreamKernel }) =>
        StreamKernel.adoptEarly(early, settings) ?? StreamKernel.prestart(settings),
    );
  } else if (Boot.kernelExpected(Private.allPluginSettings())) {
    prestarted = serviceWorkerReady
      .then(() => import('./kernel'))
      .then(({ StreamKernel }) => StreamKernel.prestart(settings));
  }
  const status = new Private.InterruptStatus();
  const logger = Private.makeLogger(app, loggerRegistry);
  if (status.support === 'partial') {
    console.warn(
      '[jupyterlite-stream] This page is not cross-origin isolated: ' +
        'Stop can cancel awaited coroutines and input(), not busy loops or time.sleep.',
    );
  }

  kernelspecs.register({
    spec: {
      name: 'python',
      display_name: 'Python (Pyodide)',
      language: 'python',
      argv: [],
      resources: {},
    },
    create: async (options: IKernel.IOptions): Promise<IKernel> => {
      const { StreamKernel } = await import('./kernel');
      // on a first visit the service worker is still starting: the drive and
      // input() need it, so give it a moment
      await serviceWorkerReady;
      const mountDrive = !!serviceWorkerManager?.enabled;
      const taken = prestarted;
      prestarted = null;
      const kernel = new StreamKernel({
        ...options,
        ...settings,
        prestarted: taken ? await taken : undefined,
        mountDrive,
        browsingContextId: serviceWorkerManager?.browsingContextId,
        logger,
      });
      kernel.interruptFailed.connect(() => status.failed.emit(kernel.id));
      if (!mountDrive) {
        console.warn(
          '[jupyterlite-stream] No service worker: files written in Python stay in the ' +
            'kernel and input() is not available (private windows often block service workers).',
        );
      }
      return kernel;
    },
  });
  return status;
}

/**
 * Provides the kernel client whose interrupt reaches running code.
 */
const kernelClient: JupyterFrontEndPlugin<IKernelClient> = {
  id: PluginIDs.kernelClient,
  description: 'The lite kernel client, with interrupts that reach the kernel.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [IServerSettings],
  provides: IKernelClient,
  activate: (
    app: JupyterFrontEnd,
    kernelSpecs: IKernelSpecs,
    serverSettings: ServerConnection.ISettings | null,
  ): IKernelClient =>
    new StreamKernelClient({
      kernelSpecs,
      serverSettings: serverSettings ?? undefined,
    }),
};

/**
 * Tells the user plainly when Stop cannot interrupt the running code.
 */
const interruptNotice: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.interruptNotice,
  description: 'Explains what Stop can do on a page that is not cross-origin isolated.',
  autoStart: true,
  requires: [IInterruptStatusToken],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    status: IInterruptStatus,
    translator: ITranslator | null,
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlite_stream');
    status.failed.connect(async (_, kernelId) => {
      const body = trans.__(
        'This page is not cross-origin isolated, so Stop cannot interrupt running Python code ' +
          '(a busy loop or time.sleep). It can only stop awaited coroutines and input(). ' +
          'Restarting the kernel stops the code, but all variables are lost. ' +
          'The section "Cross-origin isolation" of the jupyterlite-stream README ' +
          'explains how to enable isolation on your web host.',
      );
      const result = await showDialog({
        title: trans.__('The running code cannot be interrupted'),
        body,
        buttons: [
          Dialog.cancelButton({ label: trans.__('Keep running') }),
          Dialog.warnButton({ label: trans.__('Restart kernel') }),
        ],
      });
      if (result.button.accept) {
        await Private.restartKernel(app, kernelId);
      }
    });
  },
};

/**
 * Makes the page cross-origin isolated through the service worker where the
 * host sends no COOP/COEP headers.
 */
const isolation: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.isolation,
  description: 'Cross-origin isolation by service worker on hosts without headers.',
  autoStart: true,
  optional: [IServiceWorkerManager],
  activate: async (
    app: JupyterFrontEnd,
    serviceWorkerManager: IServiceWorkerManager | null,
  ): Promise<void> => {
    const guard = new IsolationGuard({
      enabled: Private.isolationByServiceWorker(),
      serviceWorkerManager,
      storage: window.sessionStorage,
      reload: () => window.location.reload(),
    });
    const state = await guard.ensure();
    if (state === 'isolated' || state === 'reloading') {
      console.info(`[jupyterlite-stream] cross-origin isolation: ${state}`);
    } else {
      console.warn(
        `[jupyterlite-stream] cross-origin isolation: ${state}; ` +
          'Stop cannot interrupt busy loops or time.sleep on this page.',
      );
    }
  },
};

/**
 * Keeps the site offline after the first visit (the service worker's copy)
 * and announces a new build of the site.
 */
const offline: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.offline,
  description: 'The offline copy of the site and the notice of a new version.',
  autoStart: true,
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null): void => {
    // without our service worker (isolation switched off) there is no copy
    if (!Private.isolationByServiceWorker()) {
      return;
    }
    const copy = new OfflineCopy({
      app,
      trans: (translator ?? nullTranslator).load('jupyterlite_stream'),
      reload: () => window.location.reload(),
    });
    void copy.start();
  },
};

/**
 * Highlights the line that raised in the cell editor (also in JupyterLab with
 * ipykernel, from the traceback text).
 */
const errorHighlight: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.errorHighlight,
  description: 'Highlights where an exception happened in the cell editors.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  // optional: the REPL app has no notebooks, and nothing to mark
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    registry: IEditorExtensionRegistry,
    tracker: INotebookTracker | null,
  ): void => {
    if (!tracker) {
      return;
    }
    registry.addExtension({
      name: PluginIDs.errorHighlight,
      factory: () =>
        EditorExtensionRegistry.createImmutableExtension(errorHighlightExtension()),
    });
    tracker.widgetAdded.connect((_, panel) => {
      const marks = new NotebookErrorMarks(panel);
      panel.disposed.connect(() => marks.dispose());
    });
  },
};

/**
 * Export and import of the kernel's state: toolbar buttons next to Stop,
 * Kernel menu items and palette commands.
 */
const state: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.state,
  description: "Exports and imports the kernel's variables, files and databases.",
  autoStart: true,
  requires: [IKernelClient],
  // optional: the REPL app has no notebooks to export from
  optional: [INotebookTracker, ITranslator, ICommandPalette, IMainMenu],
  activate: (
    app: JupyterFrontEnd,
    kernelClient: IKernelClient,
    tracker: INotebookTracker | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null,
  ): void => {
    if (!tracker) {
      return;
    }
    const trans = (translator ?? nullTranslator).load('jupyterlite_stream');
    const transfer = new StateTransfer({
      currentPanel: () => tracker.currentWidget,
      kernelClient,
      trans,
    });
    const isEnabled = () => !!tracker.currentWidget;
    app.commands.addCommand(StateCommandIDs.exportState, {
      label: trans.__('Export Kernel State'),
      caption: trans.__('Download the variables, files and databases of the kernel'),
      icon: downloadIcon,
      isEnabled,
      execute: () => transfer.exportState(),
    });
    app.commands.addCommand(StateCommandIDs.importState, {
      label: trans.__('Import Kernel State…'),
      caption: trans.__('Restore a state file exported before'),
      icon: fileUploadIcon,
      isEnabled,
      execute: () => transfer.importState(),
    });
    Private.addToKernelMenu(
      [StateCommandIDs.exportState, StateCommandIDs.importState],
      50,
      trans,
      palette,
      mainMenu,
    );
  },
};

/**
 * Automatic checkpoints of each notebook's kernel state, and recovery after a
 * reload, a crash or a dead kernel. Its settings are those of the state
 * plugin (`litePluginSettings["jupyterlite-stream:state"]`).
 */
const checkpoint: JupyterFrontEndPlugin<void> = {
  id: PluginIDs.checkpoint,
  description: "Saves each notebook's kernel state in browser storage and restores it.",
  autoStart: true,
  requires: [IKernelClient],
  optional: [INotebookTracker, ITranslator, ICommandPalette, IMainMenu, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    kernelClient: IKernelClient,
    tracker: INotebookTracker | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null,
    statusBar: IStatusBar | null,
  ): void => {
    if (!tracker) {
      return;
    }
    const trans = (translator ?? nullTranslator).load('jupyterlite_stream');
    const checkpoints = new Checkpoints({
      settings: readCheckpointSettings(Private.pluginSettings(PluginIDs.state)),
      site: new URL(PageConfig.getBaseUrl(), window.location.href).href,
      currentPanel: () => tracker.currentWidget,
      kernelClient,
      trans,
    });
    tracker.widgetAdded.connect((_, panel) => checkpoints.track(panel));
    app.commands.addCommand(CheckpointCommandIDs.restoreCheckpoint, {
      label: trans.__('Restore Checkpoint…'),
      caption: trans.__(
        'Restore the kernel state saved automatically for this notebook',
      ),
      isEnabled: () => !!tracker.currentWidget,
      execute: () => checkpoints.restoreCurrent(),
    });
    app.commands.addCommand(CheckpointCommandIDs.deleteCheckpoints, {
      // the label says how much the checkpoints take
      label: () =>
        trans.__('Delete Checkpoints (%1)…', Checkpoints.size(checkpoints.used)),
      caption: trans.__('Delete the kernel states saved automatically by this site'),
      execute: () => checkpoints.deleteAll(),
    });
    Private.addToKernelMenu(
      [CheckpointCommandIDs.restoreCheckpoint, CheckpointCommandIDs.deleteCheckpoints],
      51,
      trans,
      palette,
      mainMenu,
    );
    if (statusBar) {
      const item = new CheckpointStatus({
        checkpoints,
        tracker,
        trans,
        onClick: () =>
          void app.commands.execute(CheckpointCommandIDs.restoreCheckpoint),
      });
      statusBar.registerStatusItem(PluginIDs.checkpointStatus, {
        item,
        align: 'left',
        rank: 5,
        isActive: () => item.isActive,
        activeStateChanged: item.model.stateChanged,
      });
    }
  },
};

/**
 * How long a new kernel waits for the service worker to be ready.
 */
const SERVICE_WORKER_WAIT_MS = 3000;

namespace Private {
  /**
   * Put `commands` into the palette's Kernel category and, as one group at
   * `rank`, into the Kernel menu.
   */
  export function addToKernelMenu(
    commands: string[],
    rank: number,
    trans: TranslationBundle,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null,
  ): void {
    for (const command of commands) {
      palette?.addItem({ command, category: trans.__('Kernel') });
    }
    mainMenu?.kernelMenu.addGroup(
      commands.map((command) => ({ command })),
      rank,
    );
  }

  /**
   * Restart a kernel through the session of a widget that uses it, so that
   * the widget follows the restart as with its own Restart command.
   */
  export async function restartKernel(app: JupyterFrontEnd, kernelId: string) {
    for (const widget of app.shell.widgets('main')) {
      const context = (widget as any).sessionContext as ISessionContext | undefined;
      if (context?.session?.kernel?.id === kernelId) {
        await context.restartKernel();
        return;
      }
    }
  }

  /**
   * Whether the site may isolate pages through its service worker (the
   * default; `"serviceWorker": false` in the isolation plugin's settings).
   */
  export function isolationByServiceWorker(): boolean {
    return Boot.isolationByServiceWorker(allPluginSettings());
  }

  /**
   * A plugin's settings from `litePluginSettings` in jupyter-lite.json.
   */
  export function pluginSettings(id: string): Record<string, any> {
    return allPluginSettings()[id] ?? {};
  }

  export function allPluginSettings(): Record<string, any> {
    return JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
  }

  /**
   * The kernel's settings (see `Boot.readSettings`).
   */
  export function readSettings(): Boot.ISettings {
    return Boot.readSettings(allPluginSettings(), PageConfig.getBaseUrl());
  }

  /**
   * Log kernel messages to the log console of the notebook using the kernel.
   */
  export function makeLogger(
    app: JupyterFrontEnd,
    loggerRegistry: ILoggerRegistry | null,
  ) {
    return ({ payload, kernelId }: { payload: ILogPayload; kernelId: string }) => {
      if (!loggerRegistry) {
        return;
      }
      for (const session of app.serviceManager.sessions.running()) {
        if (session.kernel?.id === kernelId) {
          loggerRegistry.getLogger(session.path).log(payload);
        }
      }
    };
  }

  /**
   * The interrupt status of this page.
   */
  export class InterruptStatus implements IInterruptStatus {
    readonly support: InterruptSupport = InterruptSignal.isSupported()
      ? 'full'
      : 'partial';
    readonly failed: Signal<IInterruptStatus, string> = new Signal<
      IInterruptStatus,
      string
    >(this);
  }
}

export default [
  kernel,
  kernelClient,
  interruptNotice,
  isolation,
  errorHighlight,
  state,
  original,
  originalMarks,
  offline,
  checkpoint,
];
