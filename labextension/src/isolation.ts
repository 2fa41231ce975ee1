import type { IServiceWorkerManager } from '@jupyterlite/apputils';

/**
 * How this page got (or did not get) cross-origin isolation.
 *
 * - `isolated`: SharedArrayBuffer is available (headers or service worker).
 * - `reloading`: our service worker controls the page now; one reload makes
 *   the page isolated.
 * - `disabled`: switched off in jupyter-lite.json.
 * - `unsupported`: no service worker (old browser, private window).
 * - `failed`: the page reloaded once already and is still not isolated.
 */
export type IsolationState =
  'isolated' | 'reloading' | 'disabled' | 'unsupported' | 'failed';

/**
 * Makes the page cross-origin isolated through the site's service worker on
 * hosts that cannot send the COOP/COEP headers (GitHub Pages): on a first
 * visit the worker starts controlling the page, and one reload lets it serve
 * the page with the headers. A flag in session storage keeps it to one
 * reload, so a browser that ignores the headers never loops.
 */
export class IsolationGuard {
  /**
   * @param options What the guard needs from the page.
   */
  constructor(options: IsolationGuard.IOptions) {
    this._options = options;
  }

  /**
   * Check the page, reloading it once when the service worker can isolate it.
   */
  async ensure(): Promise<IsolationState> {
    const { enabled, serviceWorkerManager, storage, reload } = this._options;
    if (globalThis.crossOriginIsolated) {
      storage.removeItem(IsolationGuard.RELOAD_FLAG);
      return 'isolated';
    }
    if (!enabled) {
      return 'disabled';
    }
    if (!serviceWorkerManager || !('serviceWorker' in navigator)) {
      return 'unsupported';
    }
    await within(serviceWorkerManager.ready, IsolationGuard.WAIT_MS);
    const controlled = await Private.controller(IsolationGuard.WAIT_MS);
    if (!serviceWorkerManager.enabled || !controlled) {
      return 'unsupported';
    }
    if (storage.getItem(IsolationGuard.RELOAD_FLAG)) {
      return 'failed';
    }
    storage.setItem(IsolationGuard.RELOAD_FLAG, String(Date.now()));
    reload();
    return 'reloading';
  }

  private _options: IsolationGuard.IOptions;
}

/**
 * The statics of IsolationGuard.
 */
export namespace IsolationGuard {
  /**
   * The session-storage key that records the one reload.
   */
  export const RELOAD_FLAG = 'jupyterlite-stream:isolation-reload';

  /**
   * How long to wait for the service worker.
   */
  export const WAIT_MS = 10_000;

  /**
   * What the guard needs from the page.
   */
  export interface IOptions {
    /**
     * Whether service-worker isolation is on (jupyter-lite.json).
     */
    enabled: boolean;
    serviceWorkerManager: IServiceWorkerManager | null;
    storage: Storage;
    reload: () => void;
  }
}

/**
 * Wait for a promise at most `ms` milliseconds; a rejection counts as settled.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, ms)),
  ]);
}

namespace Private {
  /**
   * Whether a service worker controls the page (after at most `ms`).
   */
  export async function controller(ms: number): Promise<boolean> {
    const { serviceWorker } = navigator;
    if (serviceWorker.controller) {
      return true;
    }
    await within(
      new Promise((resolve) =>
        serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
      ),
      ms,
    );
    return !!serviceWorker.controller;
  }
}
