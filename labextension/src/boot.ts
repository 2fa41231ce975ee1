import type { IStreamWorkerOptions } from './worker';

/**
 * What a kernel's worker boots with, read from the page's configuration.
 *
 * Shared by the kernel plugin and the early start (early.ts), which runs in
 * the HTML page before JupyterLab's bundles: nothing here may import
 * JupyterLab, so both read the same settings the same way.
 */
export namespace Boot {
  /**
   * The `litePluginSettings` keys these settings come from.
   */
  export const KERNEL_SETTINGS = 'jupyterlite-stream:kernel';
  export const ISOLATION_SETTINGS = 'jupyterlite-stream:isolation';

  /**
   * The kernel's settings, with every URL made absolute.
   */
  export interface ISettings {
    pyodideUrl: string;
    pipliteUrls: string[];
    disablePyPIFallback: boolean;
    loadPyodideOptions: Record<string, any> & {
      lockFileURL: string;
      packages: string[];
    };
    kernelPackages: string[];
    snapshotUrl: string | null;
    /** The bound on one cell's output, checked by the kernel. */
    outputLimit?: Record<string, number | null>;
  }

  /**
   * The kernel's settings from `litePluginSettings` (parsed).
   *
   * @param plugins All plugins' settings.
   * @param baseUrl The site's absolute root URL.
   */
  export function readSettings(
    plugins: Record<string, any>,
    baseUrl: string,
  ): ISettings {
    const config = plugins[KERNEL_SETTINGS] ?? {};
    const absolute = (url: string) => new URL(url, baseUrl).href;
    const loadPyodideOptions = { ...(config.loadPyodideOptions ?? {}) };
    for (const [key, value] of Object.entries(loadPyodideOptions)) {
      if (key.endsWith('URL') && typeof value === 'string') {
        loadPyodideOptions[key] = absolute(value);
      }
    }
    return {
      pyodideUrl: absolute(config.pyodideUrl ?? 'static/pyodide/pyodide.mjs'),
      pipliteUrls: ((config.pipliteUrls ?? []) as string[]).map(absolute),
      disablePyPIFallback: config.disablePyPIFallback ?? true,
      loadPyodideOptions,
      kernelPackages: (config.kernelPackages ?? DEFAULT_KERNEL_PACKAGES) as string[],
      snapshotUrl: config.snapshotUrl ? absolute(config.snapshotUrl) : null,
      outputLimit: config.outputLimit,
    };
  }

  /**
   * What the kernel loads at start when the settings do not say.
   */
  export const DEFAULT_KERNEL_PACKAGES = [
    'micropip',
    'piplite',
    'ipykernel',
    'comm',
    'pyodide-kernel',
    'ipython',
    'jedi',
    'jupyterlite-stream',
  ];

  /**
   * Whether the site isolates its pages through its service worker (the
   * default) rather than through the web host's headers.
   */
  export function isolationByServiceWorker(plugins: Record<string, any>): boolean {
    return plugins[ISOLATION_SETTINGS]?.serviceWorker !== false;
  }

  /**
   * Whether this page starts a kernel as soon as it is loaded: the REPL,
   * a notebook or console page, JupyterLab opening a notebook. Not on a page
   * that reloads itself for isolation first (its worker would be lost).
   */
  export function kernelExpected(plugins: Record<string, any>): boolean {
    if (!globalThis.crossOriginIsolated && isolationByServiceWorker(plugins)) {
      return false;
    }
    const app = window.location.pathname.split('/').slice(-2)[0];
    const path = new URLSearchParams(window.location.search).get('path') ?? '';
    return (
      ['repl', 'notebooks', 'consoles'].includes(app) ||
      (app === 'lab' && path.endsWith('.ipynb'))
    );
  }

  /**
   * The worker options that do not depend on the kernel.
   *
   * @param settings The kernel's settings.
   * @param baseUrl The site's absolute root URL.
   * @param interruptBuffer The interrupt signal's memory, if any.
   */
  export function workerOptions(
    settings: ISettings,
    baseUrl: string,
    interruptBuffer: SharedArrayBuffer | null,
  ): IStreamWorkerOptions {
    const { pyodideUrl } = settings;
    return {
      baseUrl,
      pyodideUrl,
      indexUrl: pyodideUrl.slice(0, pyodideUrl.lastIndexOf('/') + 1),
      pipliteWheelUrl: '',
      pipliteUrls: settings.pipliteUrls,
      disablePyPIFallback: settings.disablePyPIFallback,
      loadPyodideOptions: settings.loadPyodideOptions,
      kernelPackages: settings.kernelPackages,
      snapshotUrl: settings.snapshotUrl,
      interruptBuffer,
      location: '',
      mountDrive: false,
      kernelId: '',
    };
  }

  /**
   * What two boots must agree on for one's worker to serve the other: the
   * options without the interrupt memory, as canonical text.
   */
  export function bootKey(options: IStreamWorkerOptions): string {
    return JSON.stringify(Private.sorted({ ...options, interruptBuffer: null }));
  }

  /**
   * A worker the HTML page started before JupyterLab loaded (early.ts), left
   * for the first kernel on the page to adopt.
   */
  export interface IEarlyWorker {
    worker: Worker;
    /** The worker script's absolute URL. */
    url: string;
    /** The `bootKey` of the options it was asked to prepare with. */
    key: string;
    interruptBuffer: SharedArrayBuffer | null;
    /** When it was started (ms since the page's time origin). */
    startedAt: number;
    /** Whether its script failed to load or run. */
    failed: boolean;
    /**
     * Stop holding back the worker's events and hand over those that came
     * so far (its log messages, a failed start).
     */
    takeBacklog(): Event[];
  }

  /**
   * Leave the early worker for the kernel plugin (see `closeEarlyStart`).
   */
  export function leaveEarlyWorker(early: IEarlyWorker): void {
    Private.handover().worker = early;
  }

  /**
   * Whether the kernel plugin has begun: no worker may start early after.
   */
  export function earlyStartClosed(): boolean {
    return Private.handover().closed;
  }

  /**
   * Called by the kernel plugin once: no worker starts early from now on.
   *
   * @returns the worker the page started, if it did.
   */
  export function closeEarlyStart(): IEarlyWorker | null {
    const handover = Private.handover();
    handover.closed = true;
    const { worker } = handover;
    handover.worker = null;
    return worker;
  }

  /**
   * The message that asks a worker to boot before it belongs to a kernel,
   * in a shape comlink ignores (it arrives before comlink is wired).
   */
  export const PREPARE_MESSAGE = '_jupyterliteStreamPrepare';
}

namespace Private {
  /**
   * What the early start and the kernel plugin share on this page (two
   * bundles, so through a global).
   */
  export interface IHandover {
    closed: boolean;
    worker: Boot.IEarlyWorker | null;
  }

  export function handover(): IHandover {
    const scope = globalThis as any;
    scope[HANDOVER] ??= { closed: false, worker: null };
    return scope[HANDOVER];
  }

  const HANDOVER = '__jupyterliteStreamEarlyStart';

  /**
   * `value` with every object's keys in order, for a stable JSON text.
   */
  export function sorted(value: any): any {
    if (Array.isArray(value)) {
      return value.map(sorted);
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, sorted(value[key])]),
      );
    }
    return value;
  }
}
