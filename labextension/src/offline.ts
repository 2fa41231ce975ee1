import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * What the site's service worker answers (see service-worker.js).
 */
export interface IOfflineReply {
  status:
    | 'cached'
    | 'current'
    | 'update-ready'
    | 'switched'
    | 'offline'
    | 'unavailable'
    | 'no-manifest'
    | 'off'
    | 'cleared'
    | 'status'
    | 'unknown-build'
    | 'error'
    | 'no-worker';
  build?: string;
  active?: string | null;
  pending?: string | null;
  message?: string;
}

/**
 * The page's side of the site's offline copy, which the service worker keeps
 * in Cache Storage: ask it to keep the copy and look for a new build once the
 * page has loaded, announce a new build and switch to it only when the user
 * accepts (at the reload, so that no page mixes two builds), say when a file
 * is not available offline, and drop the copy with Help > Clear Browser Data.
 */
export class OfflineCopy {
  /**
   * @param options The application, the translations and how to reload.
   */
  constructor(options: OfflineCopy.IOptions) {
    this._options = options;
  }

  /**
   * Start: the check runs once the page has loaded and its kernel had time to
   * start, so that a first visit's copy does not compete with it.
   */
  async start(): Promise<void> {
    if (!('serviceWorker' in navigator)) {
      return;
    }
    navigator.serviceWorker.addEventListener('message', (event) =>
      this._onWorkerMessage(event.data),
    );
    this._watchClearBrowserData();
    await this._options.app.restored;
    await new Promise((resolve) => setTimeout(resolve, OfflineCopy.CHECK_DELAY_MS));
    const reply = await this.ask({ type: 'jupyterlite-stream:check' });
    console.info(
      `[jupyterlite-stream] offline copy: ${reply.status}`,
      reply.build ?? '',
    );
    if (reply.status === 'update-ready' && reply.build) {
      this._announce(reply.build);
    } else if (reply.status === 'error') {
      console.warn(`[jupyterlite-stream] offline copy not made: ${reply.message}`);
    }
  }

  /**
   * Send a message to the service worker and wait for its answer.
   *
   * @param message A `jupyterlite-stream:*` message.
   */
  async ask(message: Record<string, unknown>): Promise<IOfflineReply> {
    const registration = await navigator.serviceWorker.getRegistration();
    const worker = navigator.serviceWorker.controller ?? registration?.active;
    if (!worker) {
      return { status: 'no-worker' };
    }
    const channel = new MessageChannel();
    const reply = new Promise<IOfflineReply>((resolve) => {
      channel.port1.onmessage = (event) => resolve(event.data as IOfflineReply);
    });
    worker.postMessage(message, [channel.port2]);
    return reply;
  }

  private _announce(build: string): void {
    const { trans } = this._options;
    Notification.info(
      trans.__('A new version of this site is available: reload to use it.'),
      {
        autoClose: false,
        actions: [
          {
            label: trans.__('Reload'),
            caption: trans.__('Switch to the new version (open notebooks are kept)'),
            callback: () => void this._accept(build),
          },
        ],
      },
    );
  }

  private async _accept(build: string): Promise<void> {
    const reply = await this.ask({ type: 'jupyterlite-stream:accept', build });
    if (reply.status === 'switched') {
      this._options.reload();
    } else {
      console.warn(
        `[jupyterlite-stream] the new version could not be used: ${reply.status}`,
      );
    }
  }

  private _onWorkerMessage(data: any): void {
    if (data?.type !== 'jupyterlite-stream:unavailable-offline') {
      return;
    }
    const { trans } = this._options;
    Notification.warning(
      trans.__(
        '"%1" is not available offline: it is kept only once it was opened while online.',
        String(data.path),
      ),
      { autoClose: 10_000 },
    );
  }

  /**
   * JupyterLite's Help > Clear Browser Data reloads the page once the user
   * confirmed and its stores are cleared: a reload while that command runs,
   * with its dialog closed, drops our caches too. The worker gets the message
   * even though the page is going away.
   */
  private _watchClearBrowserData(): void {
    const { app } = this._options;
    let clearing = false;
    app.commands.commandExecuted.connect((_, args) => {
      if (args.id !== OfflineCopy.CLEAR_BROWSER_DATA) {
        return;
      }
      clearing = true;
      // the reload comes right after the command's promise settles
      void Promise.resolve(args.result)
        .catch(() => undefined)
        .then(() => setTimeout(() => (clearing = false), 2000));
    });
    window.addEventListener('pagehide', () => {
      if (clearing && Dialog.tracker.size === 0) {
        navigator.serviceWorker.controller?.postMessage({
          type: 'jupyterlite-stream:clear',
        });
      }
    });
  }

  private _options: OfflineCopy.IOptions;
}

/**
 * The statics of OfflineCopy.
 */
export namespace OfflineCopy {
  /**
   * JupyterLite's command behind Help > Clear Browser Data.
   */
  export const CLEAR_BROWSER_DATA = 'application:clear-browser-data';

  /**
   * How long after the page is restored the worker is asked to check.
   */
  export const CHECK_DELAY_MS = 2000;

  /**
   * What the offline copy needs from the page.
   */
  export interface IOptions {
    app: JupyterFrontEnd;
    trans: TranslationBundle;
    reload: () => void;
  }
}
